// Test-only parameter set that must NOT deploy: continuous protection with no vault to take events
// from (no listed vaults, no discovery subscriptions: Managed HSMs only).
using '../../../infra/main.bicep'

param environmentName = 'kvb-fail'
param location = 'westeurope'
param vaults = []
param managedHsms = [
  { name: 'prod-hsm', resourceGroup: 'rg-hsm', identityPrincipalId: '12121212-3434-5656-7878-909090909090' }
]
param continuousProtection = true
param restoreApi = 'off'
param alertEmails = ['oncall@example.org']
