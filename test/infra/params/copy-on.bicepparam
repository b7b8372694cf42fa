// Test-only parameter set (npm run infra:check snapshots it into .local/infra/copy-on.snapshot.json):
// the isolated copy configured, service endpoints (the copy's firewall admits the Function subnet, so
// nothing network-wise is made here), the copy's own container, a 30 h lag threshold.
using '../../../infra/main.bicep'

param environmentName = 'kvb-copy'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param networkMode = 'serviceEndpoint'
param copyBlobUri = 'https://stkvbcopysubnet.blob.core.windows.net'
param copyContainer = 'kv-copy'
param copyMaxLagHours = 30
param alertEmails = ['oncall@example.org']
