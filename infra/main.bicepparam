using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'kvbackup')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')

// The vaults to back up, and where they live (subscriptionId: only when not this subscription).
param vaults = [
  { name: 'contoso-kv', resourceGroup: 'rg-contoso-secrets' }
]
param restoreTargets = []

// HTTP restores: appServiceAuth needs the restore app registration's client id (the deployment
// fails with a clear message without it); off = restores only through the kvbackup CLI.
param restoreApi = readEnvironmentVariable('KVBACKUP_RESTORE_API', 'appServiceAuth')
param restoreAppClientId = readEnvironmentVariable('KVBACKUP_RESTORE_APP_CLIENT_ID', '')

// The operators' Entra group (object id) for the kvbackup CLI; empty = none.
param operatorPrincipalId = readEnvironmentVariable('KVBACKUP_OPERATOR_GROUP_ID', '')

param networkMode = 'serviceEndpoint'
param storageIpRules = []
param alertEmails = ['platform-oncall@contoso.com']
