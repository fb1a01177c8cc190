import { startStandaloneSubgraph } from '../../platform/startStandaloneSubgraph.ts';
import { reconciliationSubgraph } from './reconciliationSubgraph.ts';

startStandaloneSubgraph('reconciliation', reconciliationSubgraph);
