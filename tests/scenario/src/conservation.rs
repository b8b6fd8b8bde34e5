//! Conservation: the vault holds exactly `Σ collateral + insurance + fees + Σ settlement pools −
//! pending social loss`, the sums recomputed from every margin account and series, and the
//! exchange's running totals equal them.

use crate::backend::Backend;
use crate::world::World;

impl<B: Backend> World<B> {
    /// Asserts conservation over every account and series the scenario opened; `step` names
    /// the step in the message.
    pub async fn assert_conservation(&mut self, step: &str) {
        let vault_key = self.ex.vault;
        let vault = self.token_balance(&vault_key).await as i128;
        let ex = self.exchange().await;
        let mut collateral = 0i128;
        for a in self.accounts.clone() {
            // Closed accounts are gone; their collateral left with them.
            if self.b.account(&a).await.is_some() {
                collateral += self.margin_account(&a).await.collateral_native as i128;
            }
        }
        let mut pools = 0i128;
        for s in self.series.clone() {
            let s = self.series_state(&s).await;
            assert!(
                s.settlement_pool_native >= 0,
                "{step}: a pool went negative"
            );
            pools += s.settlement_pool_native as i128;
        }
        let name = self.b.name();
        assert_eq!(
            collateral, ex.total_collateral_native as i128,
            "[{name}] {step}: Σ collateral vs exchange total"
        );
        assert_eq!(
            pools, ex.settlement_pools_native as i128,
            "[{name}] {step}: Σ pools vs exchange total"
        );
        // Charges round up: until an instruction that writes the Exchange sweeps it into the
        // insurance fund, the pending total may sit below zero by at most one unit per account
        // and socialised loss (`ledger::charge_social_loss`).
        let over = self.accounts.len() as i64 * ex.socialisation_count as i64;
        assert!(
            ex.social_loss_pending_native >= -over,
            "[{name}] {step}: pending social loss {} below −{over}",
            ex.social_loss_pending_native
        );
        assert_eq!(
            vault,
            collateral + ex.insurance_fund_native as i128 + ex.fees_native as i128 + pools
                - ex.social_loss_pending_native as i128,
            "[{name}] {step}: vault {vault} != collateral {collateral} + insurance {} + fees {} + pools {pools} - pending social loss {}",
            ex.insurance_fund_native,
            ex.fees_native,
            ex.social_loss_pending_native
        );
    }
}
