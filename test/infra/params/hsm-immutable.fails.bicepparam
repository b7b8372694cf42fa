// Test-only parameter set that must NOT deploy: Managed HSM full backups into an immutable account.
using '../../../infra/main.bicep'

param environmentName = 'kvb-fail'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param managedHsms = [
  { name: 'prod-hsm', resourceGroup: 'rg-hsm', identityPrincipalId: '12121212-3434-5656-7878-909090909090' }
]
param immutabilityDays = 14
param alertEmails = ['oncall@example.org']
