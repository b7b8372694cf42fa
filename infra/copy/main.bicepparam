// An example for the copy's owners: copy it, fill in the app's values (outputs of the kvbackup
// deployment: azd env get-values), then
//   az deployment group create -g <copy-rg> -f infra/copy/main.bicep -p <your copy of this file>
// docs/isolated-copy.md, "Set-up".
using './main.bicep'

param location = 'westeurope'

// FUNCTION_PRINCIPAL_ID and FUNCTION_TENANT_ID of the kvbackup deployment (in another tenant: the
// object id of the app registration's service principal in this tenant).
param appPrincipalId = '00000000-0000-0000-0000-000000000000'
param appTenantId = '00000000-0000-0000-0000-000000000000'

// The app's networkMode decides: privateEndpoint there -> privateEndpoint here (you approve the
// app's endpoint); serviceEndpoint there -> virtualNetworkRule here, with its FUNCTION_SUBNET_ID.
param networkMode = 'virtualNetworkRule'
param functionSubnetId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-kvbackup-prod/providers/Microsoft.Network/virtualNetworks/vnet-kvbackup-prod/subnets/function'

param containerName = 'keyvault-backups'
param immutabilityDays = 30
param retentionDays = 90
