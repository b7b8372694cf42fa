// Test-only parameter set (npm run infra:check snapshots it into .local/infra/copy-on-private.snapshot.json):
// the isolated copy over Private Link: private endpoints, and a private endpoint to the copy account
// (in another subscription) that the copy's owners approve; the container and lag by default.
using '../../../infra/main.bicep'

param environmentName = 'kvb-copy-pe'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param networkMode = 'privateEndpoint'
param copyBlobUri = 'https://stkvbcopyendpoint.blob.core.windows.net'
param copyAccountId = '/subscriptions/00000000-0000-0000-0000-00000000000c/resourceGroups/rg-kvbackup-copy/providers/Microsoft.Storage/storageAccounts/stkvbcopyendpoint'
param alertEmails = ['oncall@example.org']
