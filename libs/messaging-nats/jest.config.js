import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'messaging-nats', rootDir: import.meta.dirname };
