// Test-only parameter set that must NOT deploy: locking an immutability policy that is off.
using '../../../infra/main.bicep'

param environmentName = 'kvb-fail'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param immutabilityLocked = true
param alertEmails = ['oncall@example.org']
