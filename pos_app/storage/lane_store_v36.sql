-- Schema 36 (store mode, issue 13): an offline redemption above [store] offline_redeem_supervisor_above needs a
-- supervisor's approval (STORE-MODE.md §1.4 rule 2); the hold records who approved (users.id; the approval
-- itself is in approvals and the audit log).

ALTER TABLE lane_redeem ADD COLUMN approved_by INTEGER;
