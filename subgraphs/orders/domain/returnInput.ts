import type { InputProblem } from './placeOrderRequest.ts';

/** The most lines one return request or inspection may name. */
export const MAX_RETURN_LINES = 1_000;

export interface ReturnRequestLine {
  readonly lineNumber: number;
  readonly quantity: number;
}

export interface InspectionLine {
  readonly lineNumber: number;
  readonly restocked: number;
  readonly scrapped: number;
}

/** What no order could take in a requestReturn (BAD_USER_INPUT), every problem at once; empty when there is none. */
export function validateReturnRequest(lines: readonly ReturnRequestLine[], reason: string): InputProblem[] {
  return [
    ...(reason.trim() === '' ? [{ field: 'reason', message: 'must not be blank' }] : []),
    ...lineListProblems(lines, (line) => (isWhole(line.quantity, 1) ? null : `quantity must be a whole number of at least 1, got ${line.quantity}`)),
  ];
}

/** What no order could take in an inspectReturn (BAD_USER_INPUT), every problem at once; empty when there is none. */
export function validateInspection(lines: readonly InspectionLine[]): InputProblem[] {
  return lineListProblems(lines, (line) => {
    if (!isWhole(line.restocked, 0) || !isWhole(line.scrapped, 0)) return `restocked and scrapped must be whole numbers of at least 0, got ${line.restocked} and ${line.scrapped}`;
    return line.restocked + line.scrapped === 0 ? 'inspects no unit' : null;
  });
}

function lineListProblems<Line extends { readonly lineNumber: number }>(lines: readonly Line[], check: (line: Line) => string | null): InputProblem[] {
  if (lines.length === 0 || lines.length > MAX_RETURN_LINES) return [{ field: 'lines', message: `must name 1 to ${MAX_RETURN_LINES} lines, got ${lines.length}` }];
  const seen = new Set<number>();
  return lines.flatMap((line, index) => {
    const problems: InputProblem[] = [];
    if (seen.has(line.lineNumber)) problems.push({ field: `lines[${index}].lineNumber`, message: `names line ${line.lineNumber} twice` });
    seen.add(line.lineNumber);
    const problem = check(line);
    if (problem) problems.push({ field: `lines[${index}]`, message: problem });
    return problems;
  });
}

const isWhole = (value: number, atLeast: number) => Number.isInteger(value) && value >= atLeast;
