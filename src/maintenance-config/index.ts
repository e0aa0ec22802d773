export { configInForce, loadMaintenanceConfig, MaintenanceConfigError, MaintenanceConfigHolder, parseMaintenanceConfig, type MaintenanceConfigView } from './load';
export { DEFAULT_MAINTENANCE_CONFIG, DEFAULT_MAINTENANCE_RULES, type MaintenanceConfig, type MaintenanceRules } from '../domain/maintenance-rules';
