using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'kvbackup')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')

// The vaults to back up, and where they live.
param vaults = [
  { name: 'contoso-kv', resourceGroup: 'rg-contoso-secrets' }
]
param restoreTargets = []

param networkMode = 'serviceEndpoint'
param storageIpRules = []
param alertEmails = ['platform-oncall@contoso.com']
param restoreAppClientId = readEnvironmentVariable('KVBACKUP_RESTORE_APP_CLIENT_ID', '')
