//! Which unit is a sub-account's parent, per provider: the unit structuring is judged on, the one that pays and
//! governs. Documentation only; the scan's SQL applies it (`detect::engine`, `PARENT`).
//!
//! The rule, in order:
//! 1. the registry's `parent_id` of the sub-account (`registry.csv`): an organisation, an Azure management group or
//!    MCA invoice section, an AWS organizational unit, a Google Cloud folder or an OCI parent tenancy, whatever the
//!    provider's trust-and-safety team records as the customer;
//! 2. for a sub-account the registry does not know (created since the registry was written, or never registered),
//!    the one parent the registry gives the other sub-accounts of its billing account, when they all share it;
//! 3. else `BillingAccountId`, the payer, which every provider fills (FOCUS 1.0 and later require it).
//!
//! What `BillingAccountId` and `SubAccountId` are in each provider's FOCUS data, and why the billing account is the
//! fallback parent (sources are in `corpus/sources/*.md`, each quoted there):
//!
//! | provider | `BillingAccountId` (the fallback parent) | `SubAccountId` (the account) | finer levels, from the registry or `x_` columns |
//! |---|---|---|---|
//! | Azure | EA: the billing account (enrollment), `/providers/Microsoft.Billing/billingAccounts/{enrollment}`; MCA/MPA: the billing profile, `…/billingAccounts/{acct}/billingProfiles/{profile}` (`BillingAccountType` `Billing Account` or `Billing Profile`; FOCUS_Spec PR #287, finops-toolkit `IngestionSetup_v1_2.kql`, MS Learn "FOCUS cost details") | the subscription | `x_InvoiceSectionId` (MCA invoice section, EA department), management groups (registry) |
//! | AWS | the payer: the management account of the organisation, which every member account's charges roll up to (CID's FOCUS Glue table; AWS Data Exports FOCUS dictionary) | the member (usage) account | organizational units (registry) |
//! | Google Cloud | the Cloud Billing account every project is linked to (Google's FOCUS view SQL selects `billing_account_id`) | the project | folders and the organisation node (registry: the export has no folder column) |
//! | OCI | the billing account number (numeric text, `7356189` in Oracle's Log Analytics sample row) | the tenancy OCID (`ocid1.tenancy…`) | compartments are below the sub-account (`oci_CompartmentId`): a split across compartments is one sub-account already |
//!
//! Why the billing account, not the finest unit: a split operation must pay for all of its parts, and the payer is
//! the one grouping no customer can spread over units it does not control. Finer units (an invoice section, a
//! folder) come from the registry, whose `parent_id` wins, so a large enterprise enrollment of many departments is
//! judged per department when the registry names them; a billing account whose registered sub-accounts have
//! several parents attributes none of its unregistered ones, which then sum under the billing account alone.
