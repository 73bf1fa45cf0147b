export { describeTransportContract, type ContractChannel, type TransportFixture } from './transport.contract.js';
export { numberedMessage, numberedPipeline, type Numbered, type NumberedPipelineOptions } from './spec.fixtures.js';
