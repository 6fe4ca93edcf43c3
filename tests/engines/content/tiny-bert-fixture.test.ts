import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { buildTinyBertModel } from '../../../fixtures/tiny-bert/build';

describe('tiny BERT fixture builder', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'cinegraph-tiny-bert-build-'));
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  const modelBytes = (modelDir: string) => readFile(path.join(modelDir, 'onnx', 'model.onnx'));

  it('writes a BERT config, tokenizer files and an ONNX graph with the BERT input/output names', async () => {
    const model = await buildTinyBertModel(path.join(workDir, 'a'), { hiddenSize: 16 });
    const config = JSON.parse(await readFile(path.join(model.modelDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'bert',
      hidden_size: 16,
      vocab_size: model.vocabulary.length,
    });

    const tokenizer = JSON.parse(await readFile(path.join(model.modelDir, 'tokenizer.json'), 'utf8'));
    expect(tokenizer.model.type).toBe('WordPiece');
    for (const special of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) {
      expect(tokenizer.model.vocab[special]).toBe(model.vocabulary.indexOf(special));
    }

    const { graph } = onnx.ModelProto.decode(await modelBytes(model.modelDir));
    expect(graph?.input?.map((input) => input.name)).toEqual([
      'input_ids',
      'attention_mask',
      'token_type_ids',
    ]);
    expect(graph?.output?.map((output) => output.name)).toEqual(['last_hidden_state']);
  });

  it('is byte-for-byte reproducible for a seed and changes with it', async () => {
    const first = await buildTinyBertModel(path.join(workDir, 'b'), { seed: 1 });
    const again = await buildTinyBertModel(path.join(workDir, 'c'), { seed: 1 });
    const other = await buildTinyBertModel(path.join(workDir, 'd'), { seed: 2 });
    expect((await modelBytes(again.modelDir)).equals(await modelBytes(first.modelDir))).toBe(true);
    expect((await modelBytes(other.modelDir)).equals(await modelBytes(first.modelDir))).toBe(false);
  });
});
