export { describeTransportContract, type ContractChannel, type TransportFixture } from './transport.contract.js';
