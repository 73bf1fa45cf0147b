import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'messaging-kinesis', rootDir: import.meta.dirname };
