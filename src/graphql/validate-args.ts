import { validate, ValidationError, ValidatorOptions } from 'class-validator';
import { ArgumentValidationError, ValidatorFn } from 'type-graphql';

const OPTIONS: ValidatorOptions = { skipMissingProperties: true, forbidUnknownValues: false };

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';

/**
 * type-graphql's own argument validation (class-validator, same options and the same
 * ArgumentValidationError), with class-validator imported once: the built-in path resolves
 * `require('class-validator')` for every argument object of every request.
 */
export const validateArguments: ValidatorFn = async (argValue) => {
  const targets: object[] = Array.isArray(argValue)
    ? argValue.filter(isObject)
    : isObject(argValue)
      ? [argValue]
      : [];
  const errors: ValidationError[] = [];
  for (const target of targets) errors.push(...(await validate(target, OPTIONS)));
  if (errors.length > 0) throw new ArgumentValidationError(errors);
};
