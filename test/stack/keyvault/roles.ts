/**
 * The custom roles the local stack grants: the app's permissions model itself (src/domain/
 * permissions.ts), which infra/modules/roles.bicep is tested against — one list, not a copy.
 */
export {
  BackupOperatorRole,
  DrillOperatorRole,
  RestoreOperatorRole,
} from "../../../src/domain/permissions.js";
