// Test-only parameter set (npm run infra:check snapshots it into .local/infra/copy-on-private.snapshot.json):
// the isolated copy over Private Link: private endpoints, and a private endpoint to the copy account
// (in another subscription and tenant) that the copy's owners approve; the container and lag by
// default; the app signs in to the copy's tenant as an app registration.
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
param copyTenantId = '00000000-0000-0000-0000-0000000000cc'
param copyClientId = '00000000-0000-0000-0000-0000000000c1'
param alertEmails = ['oncall@example.org']
