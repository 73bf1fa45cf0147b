import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'messaging-activemq', rootDir: import.meta.dirname };
