import * as winston from 'winston';

/** The consumer's one logger: warnings by default, -v info, -vv debug; stderr or a file. */
export function createLogger(verbosity: number, logFile?: string): winston.Logger {
  const level = verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : 'warn';
  const format = winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf((i) => `${i.timestamp} tstrace-consumerd[${process.pid}] ${i.level}: ${i.message}`),
  );
  const transport = logFile
    ? new winston.transports.File({ filename: logFile })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  return winston.createLogger({ level, format, transports: [transport] });
}
