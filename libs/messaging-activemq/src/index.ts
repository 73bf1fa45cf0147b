export { ActiveMqTransport, type ActiveMqTransportOptions } from './activemq.transport.js';
export { ActiveMqConnection, type ActiveMqConnectionOptions, type ConnectionSetup } from './activemq.connection.js';
export { ActiveMqManagement, ManagementError } from './activemq.management.js';
export { addressSettingsFor, deadLetterQueueName, type AddressSettings } from './activemq.topology.js';
export {
  artemisBrokerProperties,
  artemisGrants,
  artemisRoleHolders,
  OPERATOR_ROLE,
  type ArtemisGrant,
  type ArtemisPermission,
} from './activemq.security.js';
