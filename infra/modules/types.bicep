// Shared parameter types (compile-time imports: `import { vaultRef } from 'modules/types.bicep'`).

@export()
@description('A Key Vault the app reaches. Vaults may live in any resource group and any subscription of the tenant.')
type vaultRef = {
  @description('The vault name (the DNS label of https://<name>.vault.azure.net).')
  @minLength(3)
  @maxLength(24)
  name: string

  @description('The vault\'s resource group.')
  resourceGroup: string

  @description('The vault\'s subscription id; omitted = the subscription this template is deployed to.')
  subscriptionId: string?

  @description('How the vault authorizes: rbac (the default: role assignments) or accessPolicy (the vault still uses access policies, where a role assignment does nothing: the template adds an access policy with the same rights instead — list, backup, restore, never get).')
  accessModel: ('rbac' | 'accessPolicy')?
}

@export()
@description('Existing privatelink DNS zones (resource ids), e.g. in a hub subscription. A zone given here is used as is; a zone left out is created (and linked to the VNet) by the template.')
type privateDnsZoneIds = {
  @description('privatelink.blob.<storage suffix>')
  blob: string?
  @description('privatelink.queue.<storage suffix>')
  queue: string?
  @description('privatelink.table.<storage suffix>')
  table: string?
  @description('privatelink.vaultcore.<suffix> (used by the vault private endpoints, vaultPrivateEndpoints)')
  vault: string?
}

@export()
@description('A vault normalized for the assignment modules: subscription always set, plus the role definition GUIDs each principal gets on it.')
type vaultGrant = {
  name: string
  resourceGroup: string
  subscriptionId: string
  @description('Role definition GUIDs (names) for the Function App\'s identity.')
  appRoles: string[]
  @description('Role definition GUIDs (names) for the operator principal.')
  operatorRoles: string[]
  @description('rbac or accessPolicy: which of the two the vault uses.')
  accessModel: 'rbac' | 'accessPolicy'
  @description('On an access-policy vault: the permissions (for secrets, keys and certificates alike) each principal gets, the same rights as its roles.')
  appPolicy: string[]
  operatorPolicy: string[]
}

@export()
@description('The vault\'s subscription id, lower-case: its own, or the fallback (the deployment\'s subscription).')
func vaultSubscription(v vaultRef, fallback string) string => toLower(v.?subscriptionId ?? fallback)

@export()
@description('A case-insensitive identity for a vault: subscription/resource group/name.')
func vaultKey(v vaultRef, fallback string) string =>
  '${vaultSubscription(v, fallback)}/${toLower(v.resourceGroup)}/${toLower(v.name)}'

@export()
@description('A Managed HSM whose full backups the app starts: it writes them itself, with its own user-assigned identity.')
type hsmRef = {
  @description('The HSM name (the DNS label of https://<name>.managedhsm.azure.net).')
  @minLength(3)
  @maxLength(24)
  name: string

  @description('The HSM\'s resource group.')
  resourceGroup: string

  @description('The HSM\'s subscription; default: this deployment\'s.')
  subscriptionId: string?

  @description('Principal (object) id of the user-assigned identity the HSM writes to storage with (az keyvault update-hsm --mi-user-assigned).')
  identityPrincipalId: string
}
