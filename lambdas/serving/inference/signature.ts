import { z } from 'zod';

/**
 * What serving needs to feed a model and read its answer: the ordered input features with
 * their types, and each output's name and meaning. Stored beside the model (as
 * `signature.json`), whatever produced the model.
 */
export const SignatureInputSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['float', 'double', 'int64', 'string', 'categorical']),
  /** For `categorical`: the categories in code order; a row's value is fed as its index (-1 when unseen or missing). */
  categories: z.array(z.string()).optional(),
  /**
   * For numeric inputs: the model takes a missing value (fed as NaN) and fills it itself, as
   * built-in models trained on data with gaps do. Otherwise a missing value is refused before
   * the model runs.
   */
  nullable: z.boolean().optional(),
});

export const SignatureOutputSchema = z.object({
  name: z.string().min(1),
  meaning: z.enum(['probability', 'label', 'score', 'regression']),
  description: z.string().optional(),
});

export const ModelSignatureSchema = z
  .object({
    inputs: z.array(SignatureInputSchema).min(1),
    /**
     * When set, the inputs are the columns, in order, of one 2-D tensor with this name and
     * element type (scikit-learn's `float_input`, our `features`); otherwise each input is
     * its own ONNX input of shape [N, 1].
     */
    tensorInput: z
      .object({ name: z.string().min(1), elementType: z.enum(['float', 'double', 'int64']) })
      .optional(),
    outputs: z.array(SignatureOutputSchema).min(1),
  })
  .superRefine((sig, ctx) => {
    sig.inputs.forEach((input, i) => {
      if (input.type === 'categorical' && !input.categories?.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['inputs', i, 'categories'],
          message: `categorical input '${input.name}' must list its categories`,
        });
      }
    });
  });
export type ModelSignature = z.infer<typeof ModelSignatureSchema>;
export type SignatureInput = z.infer<typeof SignatureInputSchema>;
export type SignatureOutput = z.infer<typeof SignatureOutputSchema>;
