// Test-only parameter set that must fail to evaluate: a copy in another tenant with its tenant id but
// not the app registration the app signs in there as.
using '../../../infra/main.bicep'

param environmentName = 'kvb-copy-t'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param networkMode = 'serviceEndpoint'
param copyBlobUri = 'https://stkvbcopysubnet.blob.core.windows.net'
param copyTenantId = '00000000-0000-0000-0000-0000000000cc'
param alertEmails = ['oncall@example.org']
