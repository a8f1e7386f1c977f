/**
 * Sentence pairs that show how an embedding model separates meaning in German and across German and
 * English: paraphrases, unrelated sentences and translations (npm run bench:models, eval:embeddings).
 * Absolute cosines differ from model to model; compare a kind against the unrelated pairs.
 */
export const LANGUAGE_PAIRS = {
  de_paraphrase: [
    ['Die Bundesnetzagentur genehmigt den Ausbau der Stromnetze.', 'Der Netzausbau wurde von der Regulierungsbehörde erlaubt.'],
    ['Der Umsatz des Unternehmens stieg im dritten Quartal deutlich.', 'Im dritten Quartal wuchsen die Erlöse der Firma stark.'],
    ['Der Zug nach München hatte zwei Stunden Verspätung.', 'Die Bahn nach München kam zwei Stunden zu spät an.'],
    ['Die Regierung plant neue Steuern auf Kraftstoff.', 'Das Kabinett will Benzin und Diesel höher besteuern.'],
  ],
  de_unrelated: [
    ['Die Bundesnetzagentur genehmigt den Ausbau der Stromnetze.', 'Der Zug nach München hatte zwei Stunden Verspätung.'],
    ['Der Umsatz des Unternehmens stieg im dritten Quartal deutlich.', 'Die Regierung plant neue Steuern auf Kraftstoff.'],
    ['Im dritten Quartal wuchsen die Erlöse der Firma stark.', 'Die Bahn nach München kam zwei Stunden zu spät an.'],
    ['Das Kabinett will Benzin und Diesel höher besteuern.', 'Der Netzausbau wurde von der Regulierungsbehörde erlaubt.'],
  ],
  de_en_translation: [
    ['Die Bundesnetzagentur genehmigt den Ausbau der Stromnetze.', 'The Federal Network Agency approves the expansion of the power grids.'],
    ['Der Umsatz des Unternehmens stieg im dritten Quartal deutlich.', "The company's revenue rose sharply in the third quarter."],
    ['Der Zug nach München hatte zwei Stunden Verspätung.', 'The train to Munich was two hours late.'],
    ['Die Regierung plant neue Steuern auf Kraftstoff.', 'The government plans new taxes on fuel.'],
  ],
  en_paraphrase: [
    ['The Federal Network Agency approves the expansion of the power grids.', 'The regulator allowed the grid build-out.'],
    ["The company's revenue rose sharply in the third quarter.", 'In Q3 the firm saw strong sales growth.'],
    ['The train to Munich was two hours late.', 'The Munich train arrived two hours behind schedule.'],
    ['The government plans new taxes on fuel.', 'The cabinet wants to tax petrol and diesel more.'],
  ],
} as const;
