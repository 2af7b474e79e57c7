// The note before anything was said: what the first `note` patch applies to. Kept equal
// to the service's ClinicalNote() by tests/unit/test_web_static.py.
export const EMPTY_NOTE = Object.freeze({
  chief_complaint: null,
  history_of_present_illness: [],
  symptoms: [],
  medications: [],
  allergies: [],
  vitals: [],
  past_medical_history: [],
  family_history: [],
  social_history: [],
  examination: [],
  assessment: [],
  plan: [],
  follow_up: null,
});
