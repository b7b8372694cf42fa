// Test-only parameter set that must NOT deploy: alerts with nobody to receive them.
using '../../../infra/main.bicep'

param environmentName = 'kvb-fail'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param alertEmails = []
