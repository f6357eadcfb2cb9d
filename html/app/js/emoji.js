// Unicode emoji for the composer's picker, by category (plain characters:
// every system font draws them, nothing to download).
import { register } from './i18n.js';

register({
    'zh-CN': { 'emoji.smileys': '表情', 'emoji.gestures': '手势', 'emoji.people': '人物', 'emoji.animals': '动物',
               'emoji.food': '食物', 'emoji.activity': '活动', 'emoji.travel': '出行', 'emoji.objects': '物品', 'emoji.symbols': '符号' },
    en: { 'emoji.smileys': 'Smileys', 'emoji.gestures': 'Gestures', 'emoji.people': 'People', 'emoji.animals': 'Animals',
          'emoji.food': 'Food', 'emoji.activity': 'Activities', 'emoji.travel': 'Travel', 'emoji.objects': 'Objects', 'emoji.symbols': 'Symbols' },
});

const split = (s) => [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(s.replace(/\s+/g, ''))].map((x) => x.segment);

export const EMOJI = [
    { id: 'smileys', icon: '😀', list: split('😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙😋😛😜🤪😝🤑🤗🤭🤫🤔🤐🤨😐😑😶😏😒🙄😬😮‍💨🤥😌😔😪🤤😴😷🤒🤕🤢🤮🥵🥶🥴😵🤯🤠🥳😎🤓🧐😕😟🙁😮😯😲😳🥺😦😧😨😰😥😢😭😱😖😣😞😓😩😫🥱😤😡😠🤬😈💀💩🤡👻👽🤖😺😸😹😻😼😽🙀😿😾') },
    { id: 'gestures', icon: '👍', list: split('👍👎👌🤌✌️🤞🤟🤘🤙👈👉👆👇☝️✋🤚🖐️🖖👋🤝🙏👏🙌👐🤲💪🦾✍️💅🤳👊✊🤛🤜') },
    { id: 'people', icon: '🧑', list: split('👶🧒👦👧🧑👱👨🧔👩🧓👴👵🙍🙎🙅🙆💁🙋🧏🙇🤦🤷🧑‍💻🧑‍💼🧑‍🔧🧑‍🔬🧑‍🎨🧑‍🏫🧑‍⚕️👮🕵️💂👷🤴👸🦸🧙🧚🧛🧜🧝🏃🚶💃🕺👯🧘👫👭👬💑👪') },
    { id: 'animals', icon: '🐱', list: split('🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮🐷🐸🐵🙈🙉🙊🐔🐧🐦🐤🦆🦅🦉🐺🐴🦄🐝🐛🦋🐌🐞🐢🐍🐙🦀🐠🐟🐬🐳🐋🦈🐘🦒🐪🌵🎄🌲🌳🌴🌱🌿🍀🍁🍂🌷🌹🌸🌼🌻🌞🌝🌛⭐🌟✨⚡🔥🌈☀️⛅☁️🌧️⛄❄️💧🌊') },
    { id: 'food', icon: '🍜', list: split('🍏🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒🍑🥭🍍🥥🥝🍅🥑🥦🥬🥒🌶️🌽🥕🥔🍠🥐🍞🥖🧀🥚🍳🥞🥓🍗🍖🌭🍔🍟🍕🥪🌮🌯🥗🍝🍜🍲🍛🍣🍱🥟🍤🍙🍚🍘🥮🍡🍧🍨🍦🥧🧁🍰🎂🍮🍭🍬🍫🍿🍩🍪☕🍵🧋🥤🍺🍻🥂🍷🥃🍸🍹🧃') },
    { id: 'activity', icon: '⚽', list: split('⚽🏀🏈⚾🎾🏐🏉🎱🏓🏸🏒⛳🏹🎣🥊🥋🎽⛸️🎿🏂🏋️🚴🏊🤽🧗🏆🥇🥈🥉🏅🎖️🎗️🎫🎪🎭🎨🎬🎤🎧🎼🎹🥁🎷🎺🎸🎻🎲♟️🎯🎳🎮🧩🎉🎊🎈🎁🧧🏮') },
    { id: 'travel', icon: '🚗', list: split('🚗🚕🚙🚌🚎🏎️🚓🚑🚒🚐🚚🚛🚜🛵🏍️🚲🛴🚨🚔🚍🚘🚖✈️🛫🛬🚀🛸🚁⛵🚤🚢⚓🚧⛽🚏🗺️🗿🗽🗼🏰🏯🏟️🎡🎢🎠⛲🏖️🏝️⛰️🏔️🗻🏕️🏠🏡🏢🏬🏣🏥🏦🏨🏫🏛️⛪🕌🌆🌃🌉🌁') },
    { id: 'objects', icon: '💡', list: split('⌚📱💻⌨️🖥️🖨️🖱️💽💾💿📷📸📹🎥📞☎️📺📻⏰⏳⌛📡🔋🔌💡🔦🕯️💸💵💰💳💎⚖️🔧🔨⚒️🛠️⛏️🔩⚙️🧰🔫💣🔪🛡️🔮🧿💈🔭🔬💊💉🧬🧪🌡️🧹🧺🧻🚽🛁🔑🗝️🚪🛋️🛏️🧸🖼️🛍️🛒🎁✉️📩📨📧💌📦📪📬📮📝📁📂📅📆📇📈📉📊📋📌📍📎🖇️📏📐✂️🗃️🗄️🗑️🔒🔓🔏🔐📖📚🔖🧷🔗') },
    { id: 'symbols', icon: '❤️', list: split('❤️🧡💛💚💙💜🖤🤍🤎💔❣️💕💞💓💗💖💘💝💟☮️✝️☯️🕉️☸️✡️🔯🕎☦️🛐⛎♈♉♊♋♌♍♎♏♐♑♒♓🆔⚛️🉑☢️☣️📴📳🈶🈚🈸🈺🈷️✴️🆚💮🉐㊙️㊗️🈴🈵🈹🈲🅰️🅱️🆎🆑🅾️🆘❌⭕🛑⛔📛🚫💯💢♨️🚷🚯🚳🚱🔞📵🚭❗❕❓❔‼️⁉️🔅🔆〽️⚠️🚸🔱⚜️🔰♻️✅🈯💹❇️✳️❎🌐💠Ⓜ️🌀💤🏧🚾♿🅿️🈳🈂️🛂🛃🛄🛅🚹🚺🚼🚻🚮🎦📶🈁🔣ℹ️🔤🔡🔠🆖🆗🆙🆒🆕🆓0️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣8️⃣9️⃣🔟🔢#️⃣*️⃣▶️⏸️⏯️⏹️⏺️⏭️⏮️⏩⏪⏫⏬◀️🔼🔽➡️⬅️⬆️⬇️↗️↘️↙️↖️↕️↔️↪️↩️⤴️⤵️🔀🔁🔂🔄🔃🎵🎶➕➖➗✖️♾️💲💱™️©️®️〰️➰➿🔚🔙🔛🔝🔜✔️☑️🔘🔴🟠🟡🟢🔵🟣⚫⚪🟤🔺🔻🔸🔹🔶🔷🔳🔲▪️▫️◾◽◼️◻️🟥🟧🟨🟩🟦🟪⬛⬜🟫🔈🔇🔉🔊🔔🔕📣📢💬💭🗯️♠️♣️♥️♦️🃏🎴🀄🕐🕑🕒🕓🕔🕕🕖🕗🕘🕙🕚🕛') },
];
