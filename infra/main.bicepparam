using './main.bicep'

// Every per-environment value comes from the azd environment (azd env set NAME VALUE, or the
// shell): nothing sample-like is deployed from this file. What must be said has no default here,
// so an unset one stops `azd up` before anything is created, naming the variable (Bicep's BCP338).
// docs/deploy.md lists them all.

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME')
param location = readEnvironmentVariable('AZURE_LOCATION')

// The vaults to back up, as JSON: '[{"name":"contoso-kv","resourceGroup":"rg-secrets"}]'
// (subscriptionId when not this subscription; accessModel "accessPolicy" for a vault still on
// access policies). '[]' when discovery alone finds them (KVBACKUP_DISCOVERY_SUBSCRIPTIONS).
param vaults = json(readEnvironmentVariable('KVBACKUP_VAULTS'))
param restoreTargets = json(readEnvironmentVariable('KVBACKUP_RESTORE_TARGETS', '[]'))

// Discovery: subscription ids, comma separated, and the tag ("backup=true") vaults must carry.
param discoverySubscriptions = filter(split(readEnvironmentVariable('KVBACKUP_DISCOVERY_SUBSCRIPTIONS', ''), ','), s => !empty(trim(s)))
param discoveryVaultTag = readEnvironmentVariable('KVBACKUP_DISCOVERY_TAG', '')

// Continuous protection (docs/deploy.md, "Continuous protection"): "true" to turn it on.
param continuousProtection = bool(readEnvironmentVariable('KVBACKUP_CONTINUOUS_PROTECTION', 'false'))

// The restore drill's empty scratch vault, as JSON ('{"name":"kvb-drill","resourceGroup":"rg-drill"}'); empty = no drills.
param drillVault = empty(readEnvironmentVariable('KVBACKUP_DRILL_VAULT', ''))
  ? null
  : json(readEnvironmentVariable('KVBACKUP_DRILL_VAULT', '{}'))

// HTTP restores: appServiceAuth needs the restore app registration's client id (the deployment
// fails with a clear message without it); off = restores only through the kvbackup CLI.
param restoreApi = readEnvironmentVariable('KVBACKUP_RESTORE_API', 'appServiceAuth')
param restoreAppClientId = readEnvironmentVariable('KVBACKUP_RESTORE_APP_CLIENT_ID', '')

// The operators' Entra group (object id) for the kvbackup CLI; empty = none.
param operatorPrincipalId = readEnvironmentVariable('KVBACKUP_OPERATOR_GROUP_ID', '')

param networkMode = readEnvironmentVariable('KVBACKUP_NETWORK_MODE', 'serviceEndpoint')

// The isolated copy (docs/isolated-copy.md): the copy account's blob endpoint from its owners; empty =
// no copy. With KVBACKUP_NETWORK_MODE privateEndpoint also the copy account's resource id (the app
// reaches it through a private endpoint its owners approve).
param copyBlobUri = readEnvironmentVariable('KVBACKUP_COPY_BLOB_URI', '')
param copyContainer = readEnvironmentVariable('KVBACKUP_COPY_CONTAINER', '')
param copyMaxLagHours = int(readEnvironmentVariable('KVBACKUP_COPY_MAX_LAG_HOURS', '26'))
param copyAccountId = readEnvironmentVariable('KVBACKUP_COPY_ACCOUNT_ID', '')
param copyTenantId = readEnvironmentVariable('KVBACKUP_COPY_TENANT_ID', '')
param copyClientId = readEnvironmentVariable('KVBACKUP_COPY_CLIENT_ID', '')

// Who gets the alerts, comma separated: required (an alert nobody receives helps nobody).
param alertEmails = filter(split(readEnvironmentVariable('KVBACKUP_ALERT_EMAILS'), ','), e => !empty(trim(e)))
