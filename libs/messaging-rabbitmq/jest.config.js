import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'messaging-rabbitmq', rootDir: import.meta.dirname };
