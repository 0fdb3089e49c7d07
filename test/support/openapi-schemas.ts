/** Validates values against schemas of the OpenAPI document (JSON Schema 2020-12, $refs into its components). */
import { Ajv2020 } from 'ajv/dist/2020';

export function schemaValidator(components: Record<string, unknown>) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  return (schema: unknown) => ajv.compile({ ...(schema as object), components });
}
