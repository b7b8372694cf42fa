// Test-only parameter set (npm run infra:check snapshots it into .local/infra/hsm.snapshot.json):
// two Managed HSMs whose full backups land in the backup account, one in another subscription, and
// an operator group. Subscription ids are fake; the snapshot's own is ...0000a.
using '../../../infra/main.bicep'

param environmentName = 'kvb-hsm'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param managedHsms = [
  { name: 'prod-hsm', resourceGroup: 'rg-hsm', identityPrincipalId: '12121212-3434-5656-7878-909090909090' }
  {
    name: 'dr-hsm'
    resourceGroup: 'rg-dr'
    subscriptionId: '00000000-0000-0000-0000-00000000000B'
    identityPrincipalId: '21212121-4343-6565-8787-090909090909'
  }
]
param restoreApi = 'off'
param operatorPrincipalId = '99999999-8888-7777-6666-555555555555'
param networkMode = 'serviceEndpoint'
param alertEmails = ['oncall@example.org']
