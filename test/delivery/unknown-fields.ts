import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './manifests.ts';

// Finds object keys that a TypeScript declaration does not define. The kubernetes-models
// validators accept unknown keys, so a misspelled field (syncPolcy) passes them. Their
// .d.ts files are generated from the same OpenAPI schema and list every field.

/**
 * Returns a checker for the exported interface `interfaceName` in a kubernetes-models
 * module, for example ('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application',
 * 'IApplication'). The checker returns the JSON paths of keys the interface lacks.
 */
export function createUnknownFieldChecker(
  modulePath: string,
  interfaceName: string,
): (value: unknown) => string[] {
  // The packages export only an "import" condition, so the file is located directly.
  const declarationFile = join(repoRoot, 'node_modules', `${modulePath}.d.ts`);
  const program = ts.createProgram([declarationFile], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(declarationFile);
  const declaration = source?.statements.find(
    (statement): statement is ts.InterfaceDeclaration =>
      ts.isInterfaceDeclaration(statement) && statement.name.text === interfaceName,
  );
  if (declaration === undefined) {
    throw new Error(`interface ${interfaceName} not found in ${declarationFile}`);
  }
  const rootType = checker.getTypeAtLocation(declaration.name);

  /** Returns the object member of a union such as `Foo | undefined`, else the type itself. */
  function objectPart(type: ts.Type): ts.Type {
    const nonNullable = checker.getNonNullableType(type);
    if (!nonNullable.isUnion()) return nonNullable;
    const objects = nonNullable.types.filter(
      (member) => (member.flags & ts.TypeFlags.Object) !== 0,
    );
    return objects.length === 1 && objects[0] !== undefined ? objects[0] : nonNullable;
  }

  function findUnknown(value: unknown, type: ts.Type, path: string): string[] {
    const target = objectPart(type);
    if (Array.isArray(value)) {
      const element = checker.isArrayType(target)
        ? checker.getTypeArguments(target as ts.TypeReference)[0]
        : undefined;
      if (element === undefined) return [];
      return value.flatMap((item, index) => findUnknown(item, element, `${path}[${index}]`));
    }
    if (value === null || typeof value !== 'object') return [];

    const properties = checker.getPropertiesOfType(target);
    const indexInfo = checker.getIndexInfoOfType(target, ts.IndexKind.String);
    const unknown: string[] = [];
    for (const [key, child] of Object.entries(value)) {
      const property = properties.find((candidate) => candidate.name === key);
      if (property !== undefined) {
        unknown.push(...findUnknown(child, checker.getTypeOfSymbol(property), `${path}.${key}`));
      } else if (indexInfo !== undefined) {
        unknown.push(...findUnknown(child, indexInfo.type, `${path}.${key}`));
      } else if (properties.length > 0) {
        unknown.push(`${path}.${key}`);
      }
    }
    return unknown;
  }

  return (value) => findUnknown(value, rootType, '');
}
