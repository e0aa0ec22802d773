export { CalendarEmulator } from './calendar-emulator';
export { createServiceAccountKey, type ServiceAccountKey } from './service-account-key';
export { GoogleApiError, OAuthError } from './google-errors';
export type {
  CalendarEmulatorOptions,
  ChannelInfo,
  EmulatorCall,
  EmulatorFault,
  EmulatorLogger,
  EmulatorMethod,
  EventDateTime,
  GoogleEventResource,
} from './types';
export { LoadModel, type LoadModelOptions, type LoadStats, type ServedCall } from './load-model';
