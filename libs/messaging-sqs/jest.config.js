import preset from '../../jest.preset.js';

export default { ...preset, displayName: 'messaging-sqs', rootDir: import.meta.dirname };
