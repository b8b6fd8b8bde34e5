//! Quote token movements (SPL Token or Token-2022 through `token_interface`) and the on-chain
//! conservation check that follows each of them.

use crate::error::KeelError;
use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions, ExtensionType, StateWithExtensions,
};
use anchor_spl::token_interface::{self, Mint, TokenAccount, TransferChecked};

/// Token-2022 mint extensions that cannot move or freeze the vault's tokens behind the
/// exchange's back or change amounts in flight. Anything else (transfer fees, transfer hooks,
/// permanent delegates, confidential transfers, non-transferable, pausable, scaled amounts,
/// default-frozen accounts …) is refused at `init_exchange`.
const ALLOWED_MINT_EXTENSIONS: [ExtensionType; 4] = [
    ExtensionType::MetadataPointer,
    ExtensionType::TokenMetadata,
    ExtensionType::MintCloseAuthority,
    ExtensionType::ImmutableOwner,
];

/// Refuses quote mints with extensions outside [`ALLOWED_MINT_EXTENSIONS`].
pub fn check_mint_extensions(mint: &AccountInfo) -> Result<()> {
    if *mint.owner != anchor_spl::token_2022::ID {
        return Ok(());
    }
    let data = mint.try_borrow_data()?;
    let state =
        StateWithExtensions::<anchor_spl::token_2022::spl_token_2022::state::Mint>::unpack(&data)
            .map_err(|_| error!(KeelError::WrongQuoteMint))?;
    let types = state
        .get_extension_types()
        .map_err(|_| error!(KeelError::UnsupportedMintExtension))?;
    for t in types {
        if !ALLOWED_MINT_EXTENSIONS.contains(&t) {
            crate::log!("unsupported mint extension: {:?}", t);
            return err!(KeelError::UnsupportedMintExtension);
        }
    }
    Ok(())
}

/// Moves `amount` from a user's token account into the vault; the user signs.
pub fn transfer_in<'info>(
    token_program: &AccountInfo<'info>,
    from: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    amount: u64,
    decimals: u8,
) -> Result<()> {
    token_interface::transfer_checked(
        CpiContext::new(
            token_program.key(),
            TransferChecked {
                from: from.clone(),
                mint: mint.clone(),
                to: vault.clone(),
                authority: authority.clone(),
            },
        ),
        amount,
        decimals,
    )
}

/// Moves `amount` from `source` (its owner `authority` signs) into the vault, after crediting
/// any earlier surplus of the vault to the insurance fund (`shards`: what the ledger shards hold),
/// and returns what arrived (what the caller credits; equal to `amount` for the
/// mints `init_exchange` accepts).
#[allow(clippy::too_many_arguments)]
pub fn receive<'info>(
    exchange: &AccountLoader<'info, crate::state::Exchange>,
    shards: &keel_state::Totals,
    vault: &mut InterfaceAccount<'info, TokenAccount>,
    token_program: &AccountInfo<'info>,
    source: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    authority: &AccountInfo<'info>,
    amount: u64,
) -> Result<i64> {
    require!(amount > 0, KeelError::ZeroAmount);
    require!(amount <= i64::MAX as u64, KeelError::AmountTooLarge);
    absorb_surplus(&mut exchange.load_mut()?.0, shards, vault.amount)?;
    let before = vault.amount;
    transfer_in(
        token_program,
        source,
        &mint.to_account_info(),
        &vault.to_account_info(),
        authority,
        amount,
        mint.decimals,
    )?;
    vault.reload()?;
    let received = vault
        .amount
        .checked_sub(before)
        .ok_or(KeelError::MathOverflow)?;
    i64::try_from(received).map_err(|_| error!(KeelError::AmountTooLarge))
}

/// Moves `amount` out of the vault; the exchange PDA signs.
#[allow(clippy::too_many_arguments)]
pub fn transfer_out<'info>(
    token_program: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    exchange: &AccountInfo<'info>,
    exchange_bump: u8,
    amount: u64,
    decimals: u8,
) -> Result<()> {
    let seeds: &[&[u8]] = &[keel_state::seeds::EXCHANGE, &[exchange_bump]];
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: vault.clone(),
                mint: mint.clone(),
                to: to.clone(),
                authority: exchange.clone(),
            },
            &[seeds],
        ),
        amount,
        decimals,
    )
}

/// Tokens anyone sent straight to the vault (outside `deposit`) are owed to no one: they are
/// credited to the insurance fund, so a donation cannot break the identity below (and with it
/// every deposit and withdrawal). A vault holding *less* than owed is a bug and refused.
/// `shards`: what the ledger shards hold (the surplus is booked on the Exchange).
pub fn absorb_surplus(
    ex: &mut keel_state::Exchange,
    shards: &keel_state::Totals,
    vault_amount: u64,
) -> Result<u64> {
    let owed = crate::controller::shards::exchange_totals(ex, shards)?
        .liabilities_native()
        .ok_or(KeelError::MathOverflow)?;
    let vault = i64::try_from(vault_amount).map_err(|_| error!(KeelError::AmountTooLarge))?;
    require!(vault >= owed, KeelError::ConservationViolated);
    let surplus = vault - owed;
    if surplus > 0 {
        ex.insurance_fund_native = ex
            .insurance_fund_native
            .checked_add(surplus)
            .ok_or(KeelError::MathOverflow)?;
        crate::log!("vault surplus {} credited to the insurance fund", surplus);
    }
    Ok(surplus as u64)
}

/// The conservation identity: the vault holds exactly what the exchange owes (`ex`: the
/// exchange's totals, its own fields plus every ledger shard's).
pub fn check_conservation(ex: &keel_state::Totals, vault_amount: u64) -> Result<()> {
    let owed = ex.liabilities_native().ok_or(KeelError::MathOverflow)?;
    if owed < 0 || owed as u64 != vault_amount {
        crate::log!(
            "conservation: vault {} != collateral {} + insurance {} + fees {} + pools {} - pending social loss {}",
            vault_amount,
            ex.total_collateral_native,
            ex.insurance_fund_native,
            ex.fees_native,
            ex.settlement_pools_native,
            ex.social_loss_pending_native
        );
        return err!(KeelError::ConservationViolated);
    }
    Ok(())
}
