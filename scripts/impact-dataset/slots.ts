/**
 * Slot values for the impact dataset templates. Every list is split in two: the first part is
 * used by training templates, the `heldOut` part only by held-out templates, so the evaluation
 * sees names, vendors and systems the model never saw in training.
 */

export interface SlotPool {
  readonly train: readonly string[];
  readonly heldOut: readonly string[];
}

function pool(train: string[], heldOut: string[]): SlotPool {
  return { train, heldOut };
}

export const SLOTS: Readonly<Record<string, SlotPool>> = {
  vendor: pool(
    ['Acme Supplies', 'Northwind Traders', 'Globex Logistics', 'Initech', 'Umbrella Catering', 'Hooli Cloud', 'Vandelay Imports', 'Stark Components', 'Wayne Freight', 'Blue Harbor Consulting', 'Pinecrest Printing', 'Oakridge Staffing'],
    ['Cyberdyne Parts', 'Soylent Foods', 'Tyrell Analytics', 'Massive Dynamic', 'Gringotts Advisory', 'Monarch Packaging'],
  ),
  person: pool(
    ['Maria Lopez', 'James Chen', 'Priya Natarajan', 'Tom Becker', 'Aisha Okafor', 'Lukas Novak', 'Sofia Rossi', 'Daniel Kim', 'Fatima Haddad', 'Oliver Smith', 'Yuki Tanaka', 'Elena Petrova'],
    ['Carlos Mendes', 'Hannah Weiss', 'Ravi Kumar', 'Grace Mwangi', 'Jonas Lindqvist', 'Mei Wong'],
  ),
  firstName: pool(
    ['Maria', 'James', 'Priya', 'Tom', 'Aisha', 'Lukas', 'Sofia', 'Daniel', 'Fatima', 'Oliver'],
    ['Carlos', 'Hannah', 'Ravi', 'Grace', 'Jonas', 'Mei'],
  ),
  email: pool(
    ['m.lopez@contoso.com', 'jchen@fabrikam.io', 'ops-team@northwind.example', 'finance@acme-supplies.com', 'tbecker@partner-agency.net', 'priya.n@gmail.com'],
    ['carlos.m@outlook.com', 'hweiss@external-consult.de', 'ravi.k.2019@yahoo.com', 'records@lawfirm-llp.com'],
  ),
  service: pool(
    ['payments-api', 'auth-service', 'billing-worker', 'search-indexer', 'checkout', 'notification-service', 'ledger', 'user-profile', 'order-router', 'inventory-sync', 'gateway', 'reporting-etl'],
    ['kyc-service', 'pricing-engine', 'session-store', 'fraud-scoring', 'catalog-api', 'shipping-quotes'],
  ),
  version: pool(['v2.14.0', '3.1.2', 'v1.9.7-rc1', 'build 4471', '2024.06.1', 'v5.0.0'], ['v2.15.3', '4.0.0-beta', 'build 5102', 'v0.9.12']),
  prodEnv: pool(['production', 'prod', 'prod-eu', 'the live cluster', 'prod-us-east'], ['production (all regions)', 'prod-apac', 'the customer-facing cluster']),
  nonProdEnv: pool(['staging', 'dev', 'the sandbox', 'qa', 'preview-42'], ['staging-2', 'a feature branch env', 'the load-test cluster']),
  region: pool(['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2', 'eu-central-1'], ['sa-east-1', 'ca-central-1', 'ap-northeast-1']),
  table: pool(['customers', 'orders', 'invoices', 'users', 'payments_ledger', 'subscriptions', 'accounts'], ['patients', 'employees', 'transactions_2023', 'sessions']),
  bucket: pool(['s3://acme-prod-backups', 'gs://customer-exports', 'the data-lake raw zone', 's3://billing-archive', 'the nightly snapshot bucket'], ['s3://hr-documents', 'gs://ml-training-pii', 'the analytics warehouse']),
  externalDest: pool(
    ['a personal Dropbox folder', 'my personal gmail', 'the vendor SFTP at 203.0.113.8', 'a public pastebin', 'an external Google Drive'],
    ['a USB drive', 'the contractor WeTransfer link', 'an unmanaged laptop', 'a partner FTP server'],
  ),
  ticket: pool(['INC-4821', 'CHG-1193', 'OPS-2231', 'FIN-778', 'SEC-310', 'HR-1542', 'JIRA-9087', 'REQ-6620'], ['INC-5530', 'CHG-2044', 'OPS-3120', 'LEGAL-88']),
  invoice: pool(['INV-20931', 'INV-7781', '#4417', 'INV-2024-0193', 'PO-5521'], ['INV-33018', '#9051', 'PO-7720']),
  day: pool(['Monday', 'Tuesday', 'Thursday', 'Friday', 'tomorrow', 'next week', 'the 14th'], ['Wednesday', 'the 3rd', 'end of month', 'after the holidays']),
  time: pool(['09:30', '10:00', '2pm', '15:45', 'noon', '4:30 pm'], ['11:15', '8am', '17:00']),
  host: pool(['web-07', 'db-primary-2', 'build-agent-3', 'jump-host-eu', 'k8s-node-14', 'fileserver01'], ['mail-gw-2', 'vpn-concentrator', 'k8s-node-31', 'hr-app-01']),
  ip: pool(['198.51.100.23', '203.0.113.77', '45.83.12.9', '185.220.101.4'], ['192.0.2.145', '91.240.118.3']),
  dept: pool(['Finance', 'Sales', 'Support', 'Engineering', 'Marketing', 'Operations'], ['Legal', 'Procurement', 'Customer Success']),
  customer: pool(['customer 58213', 'Bright Dental LLC', 'account C-11902', 'Jane Whitfield', 'client 7731'], ['customer 90017', 'Harbor Yoga Studio', 'account C-40455']),
  user: pool(['u_83421', 'jdoe', 'alice.w', 'user 1177', 'bob_m'], ['u_99120', 'kfisher', 'user 4410']),
  count: pool(['240', '1,200', '3,800', '17,000', '52', '620'], ['9,400', '75,000', '310']),
  smallCount: pool(['2', '3', '4', '7', '11'], ['5', '6', '9']),
  bigAmount: pool(
    ['$48,000', '$12,500', '$250,000', 'USD 31,400', '€18,900', '$75k', '£22,000', '$1.2m', '$96,350', 'EUR 64,000'],
    ['$57,200', '$410,000', '€27,500', 'USD 150k', '£13,750'],
  ),
  smallAmount: pool(['$4.99', '$12', '$18.50', '$35', '€9.90', '$60', '£7'], ['$22.40', '€15', '$49']),
  month: pool(['January', 'March', 'June', 'September', 'Q2', 'last month'], ['February', 'Q3', 'October']),
  doc: pool(['the onboarding guide', 'the runbook', 'the API reference', 'the release notes', 'the sprint board'], ['the style guide', 'the FAQ page', 'the design spec']),
  wallet: pool(['0x3f5CE5FBFe3E9af3971dD833D26bA9b5C936f0bE', '0x8a91dc2D28b689474298D91899f0c1baF62cB85b', 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh'], ['0x71C7656EC7ab88b098defB751B7401B5f6d8976F', 'bc1q9h7garjk2x8yk6f2w7ckt3u6f5n8aqr5x2k0dz']),
  domainName: pool(['shop.acme.com', 'api.northwind.io', 'login.contoso.com', 'status.fabrikam.io'], ['pay.globex.net', 'auth.initech.dev']),
  tenant: pool(['tenant-eu-104', 'acme-prod', 'northwind', 'contoso-main'], ['globex-retail', 'tenant-us-077']),
  lastDigits: pool(['4471', '0093', '8812', '3307', '1945'], ['6620', '2208', '7319']),
};
