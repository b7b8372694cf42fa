// Test-only parameter set that must NOT deploy: the restore API on App Service authentication
// without the app registration's client id. npm run infra:check expects the snapshot to fail and
// keeps the error in .local/infra/missing-client-id.error.txt.
using '../../../infra/main.bicep'

param environmentName = 'kvb-fail'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param alertEmails = ['oncall@example.org']
