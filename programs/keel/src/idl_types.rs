//! IDL descriptions of the keel-state layouts, generated from their field tables (`idl-build`
//! only). keel-risk's own Pod structs (`RiskParams`, `NamedShock`, `VolState`,
//! `LiquidationParams`, `CorrelationState`) are described from keel-state's compile-time-checked
//! tables of them (`keel_state::risk_layout`); `Fx` appears as `i64` (Q32.32 raw bits) and
//! `PubkeyBytes` as `pubkey`. Every layout is `repr(C)` without implicit padding, so Anchor's
//! borsh reading of these descriptions is the zero-copy layout byte for byte (tests/src/idl.rs
//! checks the offsets).

use anchor_lang::idl::types::{
    IdlArrayLen, IdlDefinedFields, IdlField, IdlRepr, IdlReprModifier, IdlSerialization, IdlType,
    IdlTypeDef, IdlTypeDefTy,
};
use keel_state::{Field, Layout};
use std::collections::BTreeMap;

/// A layout nested in an account: its fields, size and the Rust path of its definition.
fn nested(name: &str) -> Option<(&'static [Field], usize, &'static str)> {
    use keel_risk::vol::CorrelationState;
    use keel_risk::{LiquidationParams, NamedShock, RiskParams, VolState};
    use keel_state::*;
    fn of<T: Layout>(path: &'static str) -> (&'static [Field], usize, &'static str) {
        (T::FIELDS, T::SIZE, path)
    }
    Some(match name {
        "OracleConfig" => of::<OracleConfig>("keel_state::OracleConfig"),
        "OracleSnapshot" => of::<OracleSnapshot>("keel_state::OracleSnapshot"),
        "MarginSnapshot" => of::<MarginSnapshot>("keel_state::MarginSnapshot"),
        "Position" => of::<Position>("keel_state::Position"),
        "TradeBand" => of::<TradeBand>("keel_state::TradeBand"),
        "RiskParams" => of::<RiskParams>("keel_risk::RiskParams"),
        "NamedShock" => of::<NamedShock>("keel_risk::NamedShock"),
        "LiquidationParams" => of::<LiquidationParams>("keel_risk::LiquidationParams"),
        "VolState" => of::<VolState>("keel_risk::VolState"),
        "CorrelationState" => of::<CorrelationState>("keel_risk::vol::CorrelationState"),
        "FillVol" => of::<keel_risk::vol::fills::FillVol>("keel_risk::vol::fills::FillVol"),
        "ListedOption" => {
            of::<keel_state::market::ListedOption>("keel_state::market::ListedOption")
        }
        "ArraySlot" => of::<ArraySlot>("keel_state::ArraySlot"),
        "Totals" => of::<Totals>("keel_state::Totals"),
        "Anchor" => of::<keel_risk::array::Anchor>("keel_risk::array::Anchor"),
        "Bound" => of::<keel_risk::array::Bound>("keel_risk::array::Bound"),
        "SeriesArray" => of::<keel_risk::SeriesArray>("keel_risk::SeriesArray"),
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
        "keel_risk::Fx" | "Fx" => (IdlType::I64, 8),
        "PubkeyBytes" => (IdlType::Pubkey, 32),
        _ => return None,
    })
}

/// Size of an element type as written in a layout.
fn size_of_ty(ty: &str) -> usize {
    let ty = ty.trim();
    if let Some((_, n)) = primitive(ty) {
        return n;
    }
    if let Some((_, n, _)) = nested(ty) {
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
        if ty == "keel_risk::Fx" || ty == "Fx" {
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
    if ty.starts_with('[') {
        let (inner, _) = split_array(ty);
        let len = size / size_of_ty(inner);
        let inner = idl_type(inner, size_of_ty(inner), docs);
        return IdlType::Array(Box::new(inner), IdlArrayLen::Value(len));
    }
    panic!("type `{ty}` unknown to the IDL builder")
}

fn def(name: &str, path: &str, fields: &[Field]) -> IdlTypeDef {
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
        docs: vec![format!("Layout {path} (repr(C), bytemuck Pod)")],
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
    def(name, &format!("keel_state::{name}"), T::FIELDS)
}

fn insert_fields(fields: &[Field], types: &mut BTreeMap<String, IdlTypeDef>) {
    for f in fields {
        let mut t = f.ty.trim();
        while t.starts_with('[') {
            t = split_array(t).0;
        }
        if let Some((nested_fields, _, path)) = nested(t) {
            if !types.contains_key(t) {
                types.insert(t.into(), def(t, path, nested_fields));
                insert_fields(nested_fields, types);
            }
        }
    }
}

/// Inserts the definitions of the layouts nested in `T`.
pub fn insert_nested<T: Layout>(types: &mut BTreeMap<String, IdlTypeDef>) {
    insert_fields(T::FIELDS, types);
}
