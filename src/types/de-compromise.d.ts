declare module 'de-compromise' {
  /** de-compromise: German part-of-speech tagging (compromise's API shape). */
  const de: (text: string) => unknown;
  export default de;
}
