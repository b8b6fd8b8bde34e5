//! IDL descriptions of the keel-state layouts, generated from their field tables (`idl-build`
//! only). keel-risk's own Pod structs (`RiskParams`, `VolState`, `LiquidationParams`,
//! `CorrelationState`) appear as byte arrays of their exact size with a pointer to their
//! definition; `Fx` appears as `i64` (Q32.32 raw bits).

use anchor_lang::idl::types::{
    IdlArrayLen, IdlDefinedFields, IdlField, IdlRepr, IdlReprModifier, IdlSerialization, IdlType,
    IdlTypeDef, IdlTypeDefTy,
};
use keel_state::{Field, Layout};
use std::collections::BTreeMap;

fn nested(name: &str) -> Option<(&'static [Field], usize)> {
    use keel_state::*;
    Some(match name {
        "OracleConfig" => (OracleConfig::FIELDS, OracleConfig::SIZE),
        "OracleSnapshot" => (OracleSnapshot::FIELDS, OracleSnapshot::SIZE),
        "MarginSnapshot" => (MarginSnapshot::FIELDS, MarginSnapshot::SIZE),
        "Position" => (Position::FIELDS, Position::SIZE),
        "TradeBand" => (TradeBand::FIELDS, TradeBand::SIZE),
        _ => return None,
    })
}

fn opaque(name: &str) -> Option<&'static str> {
    Some(match name {
        "RiskParams" => "keel_risk::RiskParams (repr(C), crates/risk/src/params.rs)",
        "LiquidationParams" => "keel_risk::LiquidationParams (repr(C), crates/risk/src/params.rs)",
        "VolState" => "keel_risk::VolState (repr(C), crates/risk/src/vol/mod.rs)",
        "CorrelationState" => {
            "keel_risk::vol::CorrelationState (repr(C), crates/risk/src/vol/correlation.rs)"
        }
        _ => return None,
    })
}

fn primitive(name: &str) -> Option<(IdlType, usize)> {
    Some(match name {
        "u8" => (IdlType::U8, 1),
        "u16" => (IdlType::U16, 2),
        "u32" => (IdlType::U32, 4),
        "u64" => (IdlType::U64, 8),
        "i32" => (IdlType::I32, 4),
        "i64" => (IdlType::I64, 8),
        "keel_risk::Fx" => (IdlType::I64, 8),
        _ => return None,
    })
}

/// Size of an element type as written in a layout.
fn size_of_ty(ty: &str) -> usize {
    let ty = ty.trim();
    if let Some((_, n)) = primitive(ty) {
        return n;
    }
    if let Some((_, n)) = nested(ty) {
        return n;
    }
    if ty.starts_with('[') {
        let (inner, len) = split_array(ty);
        return size_of_ty(inner) * len.parse::<usize>().expect("literal array length");
    }
    panic!("size of `{ty}` unknown to the IDL builder")
}

/// `[T; N]` → (`T`, `N`), splitting at the last top-level `;`.
fn split_array(ty: &str) -> (&str, &str) {
    let body = &ty[1..ty.len() - 1];
    let mut depth = 0;
    let mut split = None;
    for (i, c) in body.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ';' if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    let i = split.expect("array type");
    (body[..i].trim(), body[i + 1..].trim())
}

fn idl_type(ty: &str, size: usize, docs: &mut Vec<String>) -> IdlType {
    let ty = ty.trim();
    if let Some((t, _)) = primitive(ty) {
        if ty == "keel_risk::Fx" {
            docs.push("Q32.32 fixed point (raw i64 bits)".into());
        }
        return t;
    }
    if nested(ty).is_some() {
        return IdlType::Defined {
            name: ty.into(),
            generics: vec![],
        };
    }
    if let Some(doc) = opaque(ty) {
        docs.push(doc.into());
        return IdlType::Array(Box::new(IdlType::U8), IdlArrayLen::Value(size));
    }
    if ty.starts_with('[') {
        let (inner, _) = split_array(ty);
        let len = size / size_of_ty(inner);
        let inner = idl_type(inner, size_of_ty(inner), docs);
        return IdlType::Array(Box::new(inner), IdlArrayLen::Value(len));
    }
    panic!("type `{ty}` unknown to the IDL builder")
}

fn def(name: &str, fields: &[Field]) -> IdlTypeDef {
    let fields = fields
        .iter()
        .map(|f| {
            let mut docs = vec![format!(
                "byte offset {} (after the discriminator in accounts: +8)",
                f.offset
            )];
            let ty = idl_type(f.ty, f.size, &mut docs);
            IdlField {
                name: f.name.into(),
                docs,
                ty,
            }
        })
        .collect();
    IdlTypeDef {
        name: name.into(),
        docs: vec![format!("Layout keel_state::{name} (repr(C), bytemuck Pod)")],
        serialization: IdlSerialization::Bytemuck,
        repr: Some(IdlRepr::C(IdlReprModifier {
            packed: false,
            align: None,
        })),
        generics: vec![],
        ty: IdlTypeDefTy::Struct {
            fields: Some(IdlDefinedFields::Named(fields)),
        },
    }
}

/// The type definition of account layout `T` under `name`.
pub fn type_def<T: Layout>(name: &str) -> IdlTypeDef {
    def(name, T::FIELDS)
}

fn insert_fields(fields: &[Field], types: &mut BTreeMap<String, IdlTypeDef>) {
    for f in fields {
        let mut t = f.ty.trim();
        while t.starts_with('[') {
            t = split_array(t).0;
        }
        if let Some((nested_fields, _)) = nested(t) {
            if !types.contains_key(t) {
                types.insert(t.into(), def(t, nested_fields));
                insert_fields(nested_fields, types);
            }
        }
    }
}

/// Inserts the definitions of the layouts nested in `T`.
pub fn insert_nested<T: Layout>(types: &mut BTreeMap<String, IdlTypeDef>) {
    insert_fields(T::FIELDS, types);
}
