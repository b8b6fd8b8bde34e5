//! Quote-token set-up on a local chain: a mint whose authority we hold, token accounts, minting.
//! (SPL Token or Token-2022, without extensions; the tests' harness adds extensions itself.)

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token_2022::spl_token_2022;

/// The classic SPL Token program (loaded by program-test as real SBF).
pub const SPL_TOKEN: Pubkey = anchor_spl::token::ID;

/// Lamports that make any small account rent-exempt on a local chain.
pub const RENT_LAMPORTS: u64 = 1_000_000_000;

/// Creates and initialises `mint` (a new keypair's address) with `authority` and `decimals`.
pub fn create_mint(
    payer: &Pubkey,
    mint: &Pubkey,
    authority: &Pubkey,
    decimals: u8,
    token_program: &Pubkey,
) -> Vec<Instruction> {
    vec![
        solana_system_interface::instruction::create_account(
            payer,
            mint,
            RENT_LAMPORTS,
            spl_token_2022::state::Mint::LEN as u64,
            token_program,
        ),
        spl_token_2022::instruction::initialize_mint2(
            token_program,
            mint,
            authority,
            None,
            decimals,
        )
        .expect("initialize_mint2"),
    ]
}

/// Creates and initialises token account `account` (a new keypair's address) of `mint` for
/// `owner`.
pub fn create_token_account(
    payer: &Pubkey,
    account: &Pubkey,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
) -> Vec<Instruction> {
    vec![
        solana_system_interface::instruction::create_account(
            payer,
            account,
            RENT_LAMPORTS,
            spl_token_2022::state::Account::LEN as u64,
            token_program,
        ),
        spl_token_2022::instruction::initialize_account3(token_program, account, mint, owner)
            .expect("initialize_account3"),
    ]
}

/// Mints `amount` of `mint` to `account`.
pub fn mint_to(
    mint: &Pubkey,
    account: &Pubkey,
    authority: &Pubkey,
    amount: u64,
    token_program: &Pubkey,
) -> Instruction {
    spl_token_2022::instruction::mint_to(token_program, mint, account, authority, &[], amount)
        .expect("mint_to")
}

/// The amount held by a token account's data.
pub fn amount(data: &[u8]) -> Option<u64> {
    spl_token_2022::extension::StateWithExtensions::<spl_token_2022::state::Account>::unpack(data)
        .ok()
        .map(|s| s.base.amount)
}
