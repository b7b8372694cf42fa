// Test-only parameter set that must fail to evaluate: the isolated copy over Private Link without the
// copy account's resource id (the private endpoint needs it).
using '../../../infra/main.bicep'

param environmentName = 'kvb-copy-x'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param networkMode = 'privateEndpoint'
param copyBlobUri = 'https://stkvbcopyendpoint.blob.core.windows.net'
param alertEmails = ['oncall@example.org']
