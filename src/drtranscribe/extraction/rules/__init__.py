"""Rules of the local (offline, deterministic) clinical extractor.

Two stages, so that an update re-parses only what changed:

1. :mod:`parse` turns one segment's text into per-sentence facts, with no context
   (cached by text in a bounded LRU). It calls one module per concern:

   ``text``         sentences, normalisation (contractions, fillers, units), display
   ``numerals``     numbers spoken as words -> digits ("one forty over ninety" -> "140 over 90")
   ``negation``     NegEx-style negation and hypothetical scopes
   ``dialogue``     questions, yes/no answers, what a question is about
   ``symptoms``     curated symptoms with synonyms, pain by body part, onset, severity
   ``lexicon``      the medication and condition lexicons (``data/*.txt``) and lookup
   ``medications``  drug mentions with dose, route, frequency and status
   ``allergies``    allergies, reactions, "no known drug allergies"
   ``vitals``       blood pressure, heart rate, temperature, SpO2, respiratory rate, weight
   ``history``      past medical history and family history
   ``social``       smoking, alcohol, recreational drugs, occupation, living situation
   ``diagnoses``    the clinician's assessment (confirmed / suspected / ruled out)
   ``complaint``    chief complaint cues
   ``exam``         examination findings said aloud
   ``plan``         tests, referrals, advice, follow-up

2. :mod:`merge` walks all segments in order and applies context: question/answer
   pairs, corrections of a dose said just before, reactions said after an allergy,
   stable ids, accumulated evidence, latest-statement-wins.
"""
