// Plays a consultation as Meet renders captions: one block per speaker turn (a speaker
// who goes on after a short pause stays in the same block), words appearing a few at a
// time and rewritten in place (a misheard word shown first, then corrected), at most
// three blocks on screen (older ones scroll away). window.meet.play(turns) resolves when
// the last word is shown; window.meet.breakCaptions(how) changes the page as a Meet
// update might.

const AVATAR = "data:image/svg+xml;base64," + btoa('<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"><circle cx="12" cy="12" r="12" fill="#8ab4f8"/></svg>');
const region = () => document.querySelector('[jsname="dsyhDe"]');
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function newBlock(speaker) {
  const block = document.createElement("div");
  block.className = "nMcdL bj4p3b";
  block.innerHTML = `<div class="adE6rb"><img src="${AVATAR}" data-iml="1" alt=""><span class="NWpY1d"></span></div><div jsname="YSxPC"><div jsname="tgaKEf" class="ygicle VbkSUe"></div></div>`;
  block.querySelector(".NWpY1d").textContent = speaker;
  const r = region();
  r.insertBefore(block, r.querySelector(".jump"));
  const blocks = r.querySelectorAll(".nMcdL");
  if (blocks.length > 3) blocks[0].remove();
  return block;
}

async function play(turns, { wordMs = 120, pauseMs = 600, sameBlockPauseMs = 1500 } = {}) {
  let block = null;
  let last = null;
  for (const turn of turns) {
    const continues = last === turn.speaker && turn.sameBlock;
    if (!continues) block = newBlock(turn.speaker);
    const text = block.querySelector('[jsname="tgaKEf"]');
    const shown = continues ? text.textContent.split(" ") : [];
    for (const word of turn.text.split(" ")) {
      const [heard, meant] = word.includes("|") ? word.split("|") : [word, word];
      shown.push(heard);
      text.textContent = shown.join(" ");
      await wait(wordMs);
      if (heard !== meant) {
        shown[shown.length - 1] = meant; // Meet corrects a word in place
        text.textContent = shown.join(" ");
        await wait(wordMs);
      }
    }
    last = turn.speaker;
    await wait(continues || turn.sameBlock ? sameBlockPauseMs : pauseMs);
  }
}

function breakCaptions(how) {
  const r = region();
  if (how === "removed") r.closest(".a4cQT").remove();
  if (how === "renamed") {
    // Meet ships a new structure: same look, none of the attributes the finder knows
    const replacement = document.createElement("div");
    replacement.className = "xQ7pZ";
    replacement.innerHTML = r.innerHTML;
    r.replaceWith(replacement);
  }
}

/** The captions button pressed: Meet hides the captions and the button says they are off. */
function captionsOff() {
  document.querySelector('[jsname="r8qRAd"]').setAttribute("aria-pressed", "false");
  document.querySelector(".a4cQT").remove();
}

/** The call's sound (a participant talking), as Meet plays it: a media element. */
async function sound() {
  const audio = document.createElement("audio");
  audio.src = "/__fixture__/sound.wav";
  audio.loop = true;
  document.body.append(audio);
  await audio.play();
}

window.meet = { play, breakCaptions, captionsOff, sound };
document.documentElement.dataset.ready = "1";
