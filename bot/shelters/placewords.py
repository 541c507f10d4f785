"""The words around a place name in her answer, in the 14 languages of the
locales (en es fr it de pl ro hu sq ru uk bg ar zh), and the letters of other
scripts in Latin ones.

- `LOCATIVES`: phrases after which a name is where she is ("I am in", "sono a",
  "я в", "أنا في"); a bare preposition counts too, the name right after it.
- `ORDINARY`: everyday words of the answers people give instead of a town
  ("I don't know", "ho paura", "wo kann ich heute Nacht schlafen"): a text made
  mostly of them names no place unless a locative introduces the name.
- `PLACE_NOUNS`: words for a kind of place ("the city centre", "in the street",
  "a small village"): never a town's name, even alone.
- `to_latin`: Greek, Cyrillic and Arabic letters in Latin ones, to find a name
  GeoNames only holds in Latin ("Βερόνα" -> "verona").

All are compared in `fold()`ed form (lower case, no accents, no punctuation).
"""

from __future__ import annotations

import re

from bot.text.normalise import fold

_LOCATIVES = {
    "en": "i am in|im in|i m in|i am at|i am now in|i am currently in|now i am in|i live in|"
    "we are in|we live in|i stay in|i am staying in|i m staying in|currently in|near|in|at|"
    "i am from|i am close to|close to|the city of|the town of|city of|town of|to|next to|not far from|"
    "outside",
    "es": "estoy en|ahora estoy en|vivo en|estamos en|me encuentro en|cerca de|en|a|hacia|la ciudad de|"
    "ciudad de|al lado de|junto a|no lejos de|las afueras de|afueras de",
    "fr": "je suis a|je suis au|je suis en|j habite a|j habite au|nous sommes a|je vis a|"
    "je me trouve a|pres de|a|au|a cote de|la ville de|ville de|pas loin de|autour de|"
    "on est a|on est au|on est en|on est dans|je suis dans|nous sommes dans|dans",
    "it": "sono a|sono in|mi trovo a|mi trovo in|abito a|vivo a|vivo in|siamo a|ora sono a|"
    "adesso sono a|vicino a|a|in|la citta di|citta di|nei pressi di|non lontano da|fuori",
    "de": "ich bin in|ich bin jetzt in|ich wohne in|ich lebe in|wir sind in|ich bin gerade in|"
    "bin in|in der nahe von|nahe|bei|in|nach|die stadt|stadt|nicht weit von|neben|im|ich bin im",
    "pl": "jestem w mieście|w mieście|jestem w|jestem we|mieszkam w|jestesmy w|teraz jestem w|jestem teraz w|obok|kolo|"
    "w|we|do|miasto|niedaleko|okolice|w okolicy|blisko|w poblizu",
    "ro": "sunt in|sunt la|locuiesc in|acum sunt in|suntem in|ma aflu in|langa|in|la|orasul|"
    "aproape de|in apropiere de",
    "hu": "itt vagyok|vagyok|lakom|elek|most|varos",
    "sq": "jam ne|une jam ne|tani jam ne|jetoj ne|jemi ne|prane|ne|qyteti|afer|ne afersi te",
    "ru": "я в|я во|я сейчас в|я сеичас в|сейчас я в|я живу в|мы в|я нахожусь в|я нахожусь во|"
    "рядом с|около|в|во|город|в городе|недалеко от|возле",
    "uk": "я в|я у|я зараз в|я зараз у|зараз я в|я живу в|я живу у|ми в|ми у|я знаходжуся в|"
    "я знаходжуся у|біля|в|у|місто|в місті|у місті|поблизу|недалеко від",
    "bg": "аз съм в|аз съм във|сега съм в|аз живея в|живея в|ние сме в|в|във|близо до|град|в град|"
    "край|около",
    "ar": "انا في|انا الان في|الان انا في|اعيش في|انا اعيش في|نحن في|انا موجودة في|انا موجود في|"
    "قرب|بالقرب من|في|مدينة|في مدينة|قريب من|قريبة من|جنب|بجانب",
}
LOCATIVES: frozenset[tuple[str, ...]] = frozenset(
    tuple(fold(phrase).split())
    for phrases in _LOCATIVES.values()
    for phrase in phrases.split("|")
    if fold(phrase)
)
LONGEST_LOCATIVE = max(map(len, LOCATIVES))

# Written before a name without changing it: "in the Hague", "à la Rochelle" keep theirs.
ARTICLES = frozenset(fold(w) for w in "the el la le l il lo der die das dem den".split())

# Before a noun, not a name: "in the back of a van" is no town.
DETERMINERS = frozenset(
    fold(w)
    for w in "a an the un une una uno ein eine einen einem einer des les los las gli".split()
)

# Hungarian puts the locative after the name: "Szegeden vagyok", "Győrben lakom".
HUNGARIAN_VERBS = frozenset(
    fold(w)
    for w in "vagyok vagyunk lakom lakunk élek élünk dolgozom dolgozunk maradok maradunk".split()
)
HUNGARIAN_ENDINGS = ("ban", "ben", "on", "en", "ön", "ba", "be", "n")
# ... or a word after it: "Thun mellett lakom" ("I live near Thun").
HUNGARIAN_POSTPOSITIONS = frozenset(
    fold(w) for w in "mellett mellé közelében közelébe környékén környékére".split()
)

# A name after a preposition takes its case in Slavic languages: "w Gdańsku",
# "в Москве", "у Львові", "w Warszawie". (ending, the nominative's ending)
SLAVIC_ENDINGS = tuple(
    (fold(ending), fold(nominative))
    for ending, nominative in (
        ("owie", "ow"), ("ie", "a"), ("ie", ""), ("iu", ""), ("u", ""), ("e", "a"), ("e", ""),
        ("i", ""), ("y", "a"), ("ии", "ия"), ("ові", "ів"), ("еві", "ів"), ("і", "а"),
        ("і", ""), ("е", "а"), ("е", "я"), ("е", ""), ("е", "ь"), ("у", ""), ("і", "ь"),
        ("и", "ь"), ("и", "а"),
        # Polish: w Sopocie, w Kłajpedzie, w Użhorodzie, w Pradze, w Koszycach, do Brna,
        # do Gdyni, pod Poznaniem; Russian and Ukrainian: в Бельцах, в Бєльцях, у Бразі
        ("cie", "t"), ("dzie", "d"), ("dzie", "da"), ("dze", "ga"), ("ach", "e"), ("ach", "y"),
        ("a", "o"), ("a", ""), ("i", "ia"), ("em", ""), ("iem", ""),
        ("ах", "ы"), ("ах", "и"), ("ях", "і"), ("ях", "и"), ("зі", "га"), ("ом", ""), ("ем", ""),
        # w Manchesterze, w Zielonej Górze, w Nowym Sączu, в Нижнем Новгороде, в Старой Руссе
        ("ze", ""), ("rze", "ra"), ("iej", "a"), ("ej", "a"), ("ym", "y"), ("im", "i"), ("ой", "ая"),
        ("ем", "ий"), ("ом", "ый"),
        # Polish neuter names: w Brnie, w Gnieźnie, w Kłodzku, w Opolu, w Zakopanem
        ("ie", "o"), ("u", "o"), ("u", "e"), ("em", "e"),
        # Ukrainian names that are adjectives: у Береговому, у Кривому Розі
        ("ому", "е"), ("ому", "ий"),
    )
)  # fmt: skip

# Albanian: në Korçës, qytetin e Tiranës, në Durrësit, në Shkodrën, në Korça.
ALBANIAN_ENDINGS = tuple(
    (fold(ending), fold(nominative))
    for ending, nominative in (
        ("ës", "ë"), ("ën", "ë"), ("it", ""), ("in", ""), ("i", ""), ("a", "ë"), ("a", ""),
        ("rës", "ër"), ("rën", "ër"), ("ra", "ër"),
    )
)  # fmt: skip

# After which a name takes its case: the endings read off ("w Sopocie", "në Korçës").
LOCATIVE_ENDINGS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {
    tuple(fold(phrase).split()): endings
    for languages, endings in (
        (("pl", "ru", "uk", "bg"), SLAVIC_ENDINGS),
        (("sq",), ALBANIAN_ENDINGS),
    )
    for language in languages
    for phrase in _LOCATIVES[language].split("|")
    if fold(phrase)
}

# A country's name in its case: "в Румынии", "в Чорногорії", "w Niemczech", "у
# Польщі", "Angliában", "Magyarországon" ("în Italia": none).
COUNTRY_ENDINGS = tuple(
    (fold(ending), fold(nominative))
    for ending, nominative in (
        ("ии", "ия"), ("ії", "ія"), ("і", "а"), ("е", "а"), ("и", "а"), ("czech", "cy"),
        ("ech", "y"), ("ii", "ia"), ("ie", "ia"), ("ji", "ja"), ("ach", "y"), ("u", ""),
        ("i", "a"), ("ban", ""), ("ben", ""), ("on", ""), ("en", ""),
    )
)  # fmt: skip
# Before a country she is not in: "nicht Ungarn", "not Hungary"; "from Albania",
# "aus Rumänien", "из Украины", "z Ukrainy", "din România", "من سوريا", "nga Shqipëria".
NOT_HERE = frozenset(
    fold(w)
    for w in """not nicht no non nu nie не ні نه لا pas from aus von из з із od z ze de
    din nga от من da dalla dal du des di""".split()  # not "ne": Albanian "në" ("in")
)


def case_stems(word: str, endings: tuple[tuple[str, str], ...]) -> list[str]:
    """`word` with each case ending it has read off and the nominative's put back,
    in the order of `endings`: "ризі" gives, among others, "рига" (Riga)."""
    return [
        stem
        for ending, nominative in endings
        if word.endswith(ending) and len(stem := word[: len(word) - len(ending)] + nominative) >= 3
    ]


# Chinese writes no spaces: "我在乌尔姆", "我现在在柏林市".
CHINESE_PREFIXES = tuple(
    sorted(
        "我现在住在 我现在在 我目前在 我住在 我们在 我在 现在在 我到了 在".split(),
        key=len,
        reverse=True,
    )
)
CHINESE_SUFFIXES = tuple(sorted("市 现在 呢 了 啊 附近 这里 里".split(), key=len, reverse=True))

_ORDINARY = {
    "en": """hotel hostel work children kids baby north south east west northern southern sea seaside coast beach river lake mountain mountains speak english language church shop market supermarket stop floor room school university mosque camp refugee came by car walked yesterday last week months years mcdonald s
    i me my im am is are was were be been the a an and or but not no yes don dont t do does
    did know knew idea sure here there where what which who how why when now today tonight night
    day please help can could can t cannot i m you your we our us they them he she her his him it
    its this that these those some somewhere anywhere nowhere nice good bad very so too just only
    about with without from to of for on by near close next behind big small little old new
    scared afraid fear frightened danger dangerous safe unsafe sleep stay go going come coming
    need want have has had get got find lost away alone friend friends house home family work
    name remember anything something nothing thing think believe maybe say tell told took take
    passport money phone man men woman women boyfriend husband police hospital let s sorry hello hi
    thanks thank ok okay want hurt tired hungry cold hiding hide run ran escaped left right
    called city town village centre center street road station park area place square
    country countryside outside inside bus train airport hotel room flat apartment bridge
    wait waiting coming comes moved brought took drove car truck van motorway highway petrol gas sign signs read cannot understand afraid worried ask asking why who safe later soon
    bar club salon massage parlour pub restaurant kitchen factory farm animals basement garage truck stop one two many all time times watch watching us girls boys women other another same boss took say want dont dunno quick pls plz english bad signal trees lost big sleeping""",
    "es": """hotel hostal trabajo ninos norte sur este oeste mar playa costa rio lago montana hablo espanol idioma iglesia tienda mercado parada marido hijos hijo hija pega golpea sola solo ayer semana llegue autobus tren coche
    yo me mi mis tu te el ella nosotros no si se sabe sabes saber se que donde cuando como
    quien cual ahora hoy noche esta este esto eso esa aqui alli ahi un una unos unas el la los las
    lo de del al en con sin por para muy mas pero y o tengo tiene miedo peligro ayuda ayudame
    ayudenme favor puedo puede dormir quedarme casa calle ciudad pueblo pequeno pequena grande
    centro cerca lejos estacion estoy estamos soy somos nombre recuerdo amigo amiga familia trabajo
    policia hospital hola gracias vale bien mal necesito quiero sitio lugar parte barrio algun
    alguna ninguna nada todo solo sola perdida perdido
    espera esperar espere viene vienen venir llevaron trajeron movieron coche autopista gasolinera senales leer entiendo miedo tengo por que preguntas seguro luego despues pronto vale casa piso
    bar club salon masaje piso pequeno furgoneta pueblo nombre se jefe chicas""",
    "fr": """hotel auberge travail enfants nord sud est ouest mer plage cote riviere fleuve lac montagne parle francais langue eglise magasin marche arret mari enfants frappe seule hier semaine arrivee bus train voiture connais
    je j me moi mon ma mes tu te toi il elle nous vous ils elles ne pas sais sait savoir
    que qui quoi ou quand comment pourquoi maintenant aujourd hui ce soir nuit cette cet ces un une
    des le la les l de du d au aux a en dans sur sous chez avec sans pour par tres plus mais et ou
    peur ai as a danger aide aidez aider moi svp plait s il vous puis peux peut dormir rester
    maison rue ville village petit petite grand grande centre pres loin gare suis sommes est nom
    souviens ami amie famille travail police hopital bonjour salut merci ok bien mal besoin veux
    quelque part endroit quartier rien tout seule seul perdue perdu
    attends attendre attente vient viennent emmene amenee deplace voiture autoroute station essence panneaux lire comprends peur pourquoi demandes sur plus tard bientot appartement
    bar club salon massage maison campagne passeport pris nom patron filles""",
    "it": """albergo hotel ostello lavoro bambini nord sud est ovest mare spiaggia costa fiume lago montagna parlo italiano lingua chiesa negozio mercato fermata marito figli picchia sola ieri settimana arrivata autobus treno macchina conosco
    io mi me mio mia tu ti lui lei noi voi loro non no si so sa sai sapere che chi dove
    quando come perche ora adesso oggi stasera stanotte notte questa questo quello quella un uno
    una il lo la i gli le l di del della dello dei al alla allo ai a in con senza per da su
    molto piu ma e o ho hai ha paura pericolo aiuto aiutami aiutatemi favore posso puo dormire
    restare casa strada via citta paese piccolo piccola grande centro vicino lontano stazione
    sono siamo nome ricordo amico amica famiglia lavoro polizia ospedale ciao grazie va bene male
    bisogno voglio qualche parte posto quartiere niente tutto sola solo persa perso
    aspetta aspetto aspettare viene vengono portato portata spostato macchina autostrada benzinaio distributore cartelli leggere capisco paura perche chiedi sicuro dopo presto appartamento
    bar club salone massaggi casa paese piccolo nome capo ragazze""",
    "de": """hotel hostel arbeit kinder norden suden osten westen meer strand kuste fluss see berg berge spreche deutsch sprache kirche laden markt haltestelle mann kinder schlagt allein gestern woche angekommen bus zug auto kein keine kenne
    ich mich mir mein meine du dich dir er sie es wir ihr nicht nein ja weiss weis wissen
    was wer wo wann wie warum jetzt heute abend nacht diese dieser dieses das der die den dem des
    ein eine einen einem einer kleines kleine kleinen klein gross grosse in im am an auf aus bei
    mit ohne fur von zu zum zur nach sehr mehr aber und oder habe hast hat angst gefahr hilfe
    helfen helft bitte kann konnen schlafen bleiben haus hause zuhause strasse stadt dorf
    innenstadt zentrum nahe nahe weit bahnhof bin sind ist name erinnere freund freundin familie
    arbeit polizei krankenhaus hallo danke ok gut schlecht brauche will irgendwo ort platz
    viertel nichts alles allein verloren hier dort da
    warte warten kommt kommen gebracht gefahren gebracht auto autobahn tankstelle schilder lesen verstehe angst warum fragst sicher spater bald wohnung
    bar club salon massage wohnung einer uber uber heisst wie weiss nicht chef madchen""",
    "pl": """hotel hotelu pracy pracy dzieci polnoc poludnie wschod zachod morze morzem morza plaza rzeka rzeki jezioro gory mowie polsku jezyk kosciol sklep targ przystanek maz dzieci bije wczoraj tydzien przyjechalam autobus pociag samochod duzym duze nad znam
    ja mnie mi moj moja ty ty on ona my wy oni nie tak wiem wie wiedziec co kto gdzie
    kiedy jak dlaczego teraz dzis dzisiaj wieczorem noc nocy w we na z ze do od po przy dla bez
    bardzo ale i lub albo boje sie mam strach niebezpieczenstwo pomocy pomoz pomozcie prosze
    moge spac zostac dom domu ulica ulicy miasto miasta centrum wies wsi mala maly duza duzy
    blisko daleko dworzec dworca stacja stacji jestem jestesmy nazwa pamietam przyjaciel
    przyjaciolka kolega kolezanka rodzina praca policja szpital czesc dziekuje dobrze zle
    potrzebuje chce gdzies miejsce nic wszystko sama sam zgubilam
    na czekaj poczekaj czekam idzie przyjdzie przyjezdza przywiezli przewiezli samochod autostradzie autostrada stacji benzynowej stacja znaki czytac rozumiem boje sie dlaczego pytasz bezpieczne pozniej zaraz mieszkanie
    bar klub salon masaz domu szefa u nazywa jak sie to dziewczyny""",
    "ro": """hotel serviciu copiii nord sud est vest mare marea plaja rau lac munte munti vorbesc romana limba biserica magazin piata statie sot copii bate ieri saptamana venit autobuz tren masina intr cunosc
    eu ma mi meu mea tu te el ea noi voi ei ele nu da stiu stie sti ce cine unde cand cum
    de ce acum azi astazi seara noapte noaptea asta acest aceasta un o unei unui la in pe cu fara
    pentru din de al a ale foarte mai dar si sau mi e frica teama pericol ajutor ajutati ajuta
    ajutati va rog pot poate dormi ramane casa strada strazi oras orasul orasului sat mic mica
    mare centru centrul aproape langa departe gara gara sunt suntem este nume amintesc prieten
    prietena familie munca politia politie spital buna multumesc bine rau am nevoie vreau undeva
    loc nimic tot singura singur pierduta
    vine vin asteapta asteptati stai adus adusa mutat mutata masina autostrada benzinarie semne citi inteleg frica de ce intrebi sigur mai tarziu curand apartament
    bar club salon masaj marginea marginea orasului cum se numeste intr o casa sefului fete""",
    "hu": """szalloda szallodaban munkahelyen gyerekek eszak del kelet nyugat tenger tengernel part folyo to hegy beszelek magyarul nyelv templom bolt piac megallo ferjem gyerekek ver tegnap het jottem busz vonat auto nagy ismerem
    en engem nekem enyem te ti o mi ok nem igen tudom tudja tudok mit ki hol hova mikor
    hogyan miert most ma este ejjel ejszaka ez az egy a es vagy de nagyon meg is van vagyok
    vagyunk felek felunk felelem veszely veszelyben segitseg segitsetek segits kerem kerlek
    tudok aludni alhatok maradni haz hazban otthon utca utcan varos varosban belvaros
    belvarosban falu faluban kis kicsi nagy kozpont kozpontban kozel kozeleben messze
    palyaudvar palyaudvar allomas allomasnal nev emlekszem baratom baratnom csalad munka
    rendorseg korhaz szia koszonom jo rossz kell akarok valahol hely semmi minden egyedul
    varj varjon jon jonnek hoztak vittek auto autopalya benzinkut tablak olvasni ertem felek miert kerdezed biztonsagos kesobb mindjart lakas
    bar klub szalon masszazs lakasban egy neve varos nevet fonok lanyok""",
    "sq": """hotel pune femije veri jug lindje perendim det detit plazh lume liqen mal flas shqip gjuhe kishe dyqan treg stacion burri femijet rreh dje jave erdha autobus tren makine qytet madh njoh
    une mua me im ime ti ai ajo ne ju ata ato nuk po jo e di din ku kur si pse tani sot
    sonte nate nata kjo ky nje i te ne me per nga pa shume por dhe ose kam ke ka frike frika
    rrezik ndihme ndihmoni ndihmo te lutem mund fle flej qendroj shtepi shtepia rruge rruga
    qytet qyteti qytetit fshat fshati vogel madh qender qendra qendren afer larg stacion
    stacioni stacionit jam jemi eshte emri mbaj mend mik mike familja pune policia spital
    pershendetje faleminderit mire keq duhet dua diku vend asgje gjithcka vetem humbur
    prit pritni vjen vijne sollen cuan makine autostrade karburant tabela lexoj kuptoj frike pse pyet sigurt me vone se shpejti apartament
    bar klub sallon masazh emrin e qytetit nje shtepi te madhe shefit vajzat""",
    "ru": """гостиница гостинице отель отеле работе дети север севере юг юге восток западе запад море моря берег пляж река реки озеро горы говорю по русски русский язык церковь магазин рынок остановка муж дети бьет вчера неделю приехала автобус поезд машина большом большой знаю
    я меня мне мой моя ты тебя он она мы вы они не нет да знаю знает где куда когда
    как почему что кто сейчас сегодня вечером ночью ночь эта этот это в во на с со к от по у о
    из за для без очень но и или мне страшно боюсь страх опасность опасно помогите помощь
    пожалуиста пожалуйста могу можно спать переночевать ночевать остаться дом доме дома
    улица улице город города городе центр центре деревня деревне маленькая маленький большой
    рядом около возле далеко вокзал вокзала вокзале станция названия название помню друг
    подруга семья работа полиция больница привет спасибо хорошо плохо нужно хочу где то
    место ничего все одна один потерялась тут здесь там
    жди подожди ждать идет придет приехал привезли увезли машина трасса шоссе заправка заправки знаки читать понимаю боюсь страшно почему спрашиваешь безопасно потом скоро квартира
    бар клуб салон массаж квартире последнем этаже называется как лес лесу лесом ne znayu znaju gde ya ja tut zdes pomogite""",
    "uk": """готель готелі роботі діти північ півночі південь схід захід море моря берег пляж річка озеро гори розмовляю українською українська мова церква магазин ринок зупинка чоловік діти б є вчора тиждень приїхала автобус потяг машина великому великий знаю
    я мене мені мій моя ти він вона ми ви вони не ні так знаю знає де куди коли як чому
    що хто зараз сьогодні ввечері вночі ніч ця цей це в у на з із до від по про для без дуже
    але і й або страшно боюся страх небезпека небезпечно допоможіть допомога будь ласка можу
    можна спати переночувати залишитися дім вдома будинку вулиця вулиці місто міста місті
    центр центрі село селі маленьке маленька маленький великий поруч біля далеко вокзал
    вокзалу вокзалі станція назва пам ятаю друг подруга сім я робота поліція лікарня привіт
    дякую добре погано потрібно хочу десь місце нічого все одна сама загубилася тут там
    чекай зачекай йде прийде приїхав привезли вивезли машина траса шосе заправка знаки читати розумію боюся страшно чому питаєш безпечно потім скоро квартира
    бар клуб салон масаж будинку біля лісу ліс лісі називається як ne znaiu znayu de ya tut""",
    "bg": """хотел работа децата север юг изток запад море морето бряг плаж река езеро планина говоря български език църква магазин пазар спирка мъж деца бие вчера седмица пристигнах автобус влак кола голям голямо
    аз мен ме мене ми моя мой ти той тя ние вие те не да знам знае къде кога как защо какво
    кой сега днес довечера вечер нощ нощта тази този това в във на с със до от по за без много
    но и или страх ме е страхувам се опасност помощ помогнете моля мога може спя спане
    остана остане къща вкъщи улица улицата град града градът център центъра село селото
    малко малка малък голям близо далеч гара гарата съм сме е име помня приятел приятелка
    семейство работа полиция болница здравей благодаря добре зле трябва искам някъде място
    нищо всичко сама сам изгубих тук там
    чакай чакайте идва ще дойде доведоха преместиха кола магистрала бензиностанция табели чета разбирам страх страхувам защо питаш безопасно после скоро апартамент
    бар клуб салон масаж една къща сме до пътя казва как ne znam kade sam tuk""",
    "ar": """فندق العمل الشمال الجنوب الشرق الغرب البحر الشاطئ النهر البحيرة الجبل اتكلم اتحدث العربية لغة الكنيسة المسجد المتجر السوق الموقف زوجي اطفالي يضربني امس الاسبوع وصلت الحافلة القطار السيارة كبيرة
    انا لا اعرف اعلم ادري نعم في من الى على عن مع هذا هذه هنا هناك اين متى كيف لماذا ماذا
    ما الان اليوم الليلة ليلا الليل خائفة خائف خوف اخاف خطر ساعدوني ساعدني مساعدة من فضلك
    ممكن يمكنني استطيع النوم انام ابقى البيت بيت الشارع شارع المدينة مدينة وسط القرية قرية
    صغيرة صغير كبيرة كبير قرب بالقرب قريب بعيد المحطة محطة اسم اتذكر صديق صديقتي عائلتي
    العمل الشرطة المستشفى مرحبا شكرا حسنا بخير اريد احتاج مكان شيء لا شيء وحدي ضائعة
    برا خارج داخل انتظر انتظري جاي قادم يأتي نقلوني جابوني السيارة الطريق السريع محطة البنزين اللافتات اقرا افهم خايفة لماذا تسأل امن آمن بعدين قريبا شقة
    بار نادي صالون مساج اسم الغابة ana mish 3arfa fein wein ma ba3ref""",
}
# A preposition that introduces a place ("kolo", "near") is no town in itself either.
ORDINARY: frozenset[str] = frozenset(
    fold(word) for words in _ORDINARY.values() for word in words.split() if fold(word)
) | frozenset(phrase[0] for phrase in LOCATIVES if len(phrase) == 1)

_PLACE_NOUNS = """city town village centre center downtown street road station square park area
district suburb outskirts countryside border camp shelter hospital house home flat apartment
hotel airport port bus train forest field
ciudad pueblo aldea centro calle carretera estacion plaza barrio afueras frontera campo casa
ville village centre ville rue route gare place quartier banlieue campagne frontiere maison
citta paese villaggio centro strada via stazione piazza quartiere periferia campagna confine casa
stadt dorf zentrum innenstadt strasse bahnhof platz viertel vorort land grenze haus
miasto wies wioska centrum ulica dworzec stacja plac dzielnica granica dom
oras sat centru strada gara piata cartier granita casa
varos falu kozpont belvaros utca palyaudvar allomas ter haz
qytet fshat qender rruge stacion shesh lagje kufi shtepi
город деревня село центр улица вокзал станция площадь район граница дом
місто село центр вулиця вокзал станція площа район кордон дім
град село център улица гара площад квартал граница къща
مدينة قرية وسط شارع محطة ساحة حي الحدود بيت
lager lagers obóz obozie tabara kamp kampi tabor лагерь лагере табір таборі лагер مخيم
miasta miescie miastem wsi orasului qytetin qytetit fshatin varosban varosba faluban
города городе городом деревни деревне міста місті містом села селі града градът المدينة
"""
PLACE_NOUNS: frozenset[str] = frozenset(fold(w) for w in _PLACE_NOUNS.split() if fold(w))

# Letters of other scripts in the Latin ones GeoNames' names use (after fold():
# no accents, so "й" is already "и" and "ё" "е").
_GREEK_PAIRS = {
    "ου": "ou",
    "αι": "e",
    "ει": "i",
    "οι": "i",
    "μπ": "b",
    "ντ": "nt",
    "γκ": "g",
    "γγ": "ng",
}
_GREEK = str.maketrans(
    {
        "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
        "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
        "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
        "ω": "o",
    }
)  # fmt: skip
_CYRILLIC = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
        "и": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
        "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i",
        "ї": "yi", "є": "ye", "ґ": "g", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "ђ": "dj",
        "џ": "dz", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
    }
)  # fmt: skip
_ARABIC = str.maketrans(
    {
        "ا": "a", "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d",
        "ذ": "dh", "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t",
        "ظ": "z", "ع": "", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m",
        "ن": "n", "ه": "h", "و": "u", "ي": "i", "ء": "", "ڤ": "v", "پ": "p", "چ": "ch",
        "گ": "g", "ی": "i", "ک": "k",
    }
)  # fmt: skip


# Greek writes foreign b, d, g as μπ, ντ, γκ (and mb, nd, ng the same way), ου for
# u, γι for j or y ("Μπάγια" is Baja), τσ for z, and adds an ending to foreign
# names: "Μόντενα" is Modena, "Πάντοβα" Padova, "Περούτζια" Perugia, "Τάμπερε"
# Tampere, "Κόμπλεντς" Koblenz, "Φρανκφούρτη" Frankfurt. Other readings are tried after the first. fold() took
# the diaeresis off, so "αι" may also be two letters ("Μάνχαϊμ", Mannheim).
_GREEK_ALTERNATIVES = (
    ("ντ", "d"),
    ("μπ", "b"),
    ("γκ", "g"),
    ("τζ", "g"),
    ("ου", "u"),
    ("β", "b"),
    ("γι", "j"),
    ("γι", "y"),
)
_GREEK_EXACT = (("χ", "h"), ("τσ", "c"), ("τσ", "ch"))  # names as written: "Κάχουλ", "Μπούτσα"
_GREEK_MORE = (
    ("μπ", "mb"),
    ("ντ", "nd"),
    ("γκ", "ng"),
    ("τζ", "dz"),
    ("τσ", "z"),
    ("β", "w"),
    ("χ", "h"),
    ("αι", "ai"),
    ("ει", "ei"),
    ("οι", "oi"),
)
_GREEK_ENDINGS = ("η", "ο", "ι", "α")
MAX_READINGS = 32


def latin_readings(folded: str, more: bool = False) -> list[str]:
    """`to_latin(folded)`, then the other readings of a Greek name (at most eight)
    or of an Arabic one opening with alif and ya, i ("ايرون" is Irun as "airun");
    with `more` (at most 32), also mb, nd, ng, z, w, h, two vowels apart, and
    without a Greek ending, for names read by their consonants."""
    readings = [folded]
    if _ARABIC_LETTER.search(folded) and _ALIF_BEFORE_I.search(folded):
        readings.append(_ALIF_BEFORE_I.sub("", folded))
    if more and _ARABIC_LETTER.search(folded):
        for arabic, latin in _ARABIC_MORE:
            if arabic.search(folded):
                readings += [arabic.sub(latin, r) for r in readings]
            if len(readings) >= MAX_READINGS:
                break
        return list(dict.fromkeys(to_latin(r) for r in readings[:MAX_READINGS]))
    if not _GREEK_LETTER.search(folded):
        return [to_latin(r) for r in readings]
    limit = MAX_READINGS if more else 16
    for greek, latin in _GREEK_ALTERNATIVES + (_GREEK_MORE if more else _GREEK_EXACT):
        if greek in folded:
            readings += [r.replace(greek, latin) for r in readings]
        if len(readings) >= limit:
            break
    if more and folded.endswith(_GREEK_ENDINGS) and len(folded) >= 6:
        readings += [r[:-1] for r in readings[: limit // 2]]
    return list(dict.fromkeys(to_latin(r) for r in readings[:limit]))


_GREEK_LETTER = re.compile("[\u0370-\u03ff]")
_ALIF_BEFORE_I = re.compile(r"\bا(?=ي)")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")
_CYRILLIC_LETTER = re.compile("[\u0400-\u04ff]")


def local_readings(folded: str) -> list[tuple[str, frozenset[str]]]:
    """A Cyrillic name as the towns of some countries are written in Latin letters,
    each reading with those countries: "сремска митровица" is Sremska Mitrovica
    (RS), "трайскирхен" Traiskirchen (AT), "жешув" Rzeszów (PL), "ужгород"
    Uzhhorod (UA). Only their towns: "машина" (a car) read the Czech way is
    "masina", another name of Mosina in Poland."""
    if not _CYRILLIC_LETTER.search(folded):
        return []
    readings = []
    for pairs, letters, countries in _LOCAL:
        text = folded
        for cyrillic, latin in pairs:
            text = text.replace(cyrillic, latin)
        readings.append((to_latin(text.translate(letters)), countries))
    return readings


# The Latin letters each country's names use for Cyrillic ones (diacritics folded
# away: č is c, ż z, ș s, ț t), and Bulgarian ъ as GeoNames writes it.
_LOCAL = tuple(
    (
        tuple((pair, latin) for pair, latin in letters.items() if len(pair) > 1),
        str.maketrans({c: latin for c, latin in letters.items() if len(c) == 1}),
        frozenset(countries.split()),
    )
    for letters, countries in (
        (
            {"ц": "c", "ч": "c", "ш": "s", "ж": "z", "х": "h", "ъ": "a", "щ": "st"},
            "RS ME BA MK BG HR SI XK",
        ),
        (
            {
                "х": "ch",
                "ц": "z",
                "ш": "sch",
                "ж": "sch",
                "ч": "tsch",
                "в": "w",
                "ю": "u",
                "я": "ja",
            },
            "DE AT CH LI LU",
        ),
        (
            {"х": "ch", "ц": "c", "ш": "sz", "ж": "z", "ч": "cz", "в": "w", "ю": "iu", "я": "ia"},
            "PL",
        ),
        ({"х": "ch", "ц": "c", "ш": "s", "ж": "z", "ч": "c", "ю": "ju", "я": "ja"}, "CZ SK"),
        ({"г": "h", "и": "y", "х": "kh"}, "UA"),
        ({"ш": "s", "ц": "t", "х": "h", "ж": "j"}, "RO MD"),
        (  # Виттория, Джованни, Кьяри, Шампань, Мадзара: the Romance languages' spellings
            {
                "дж": "g",
                "дз": "z",
                "кь": "chi",
                "ч": "c",
                "ш": "ch",
                "ж": "j",
                "ц": "z",
                "я": "a",
                "ю": "u",
            },
            "IT ES PT FR MC SM AD",
        ),
        # Portuguese s before a consonant or at the end, and nh, lh: Элваш, Матозиньюш
        ({"ш": "s", "нь": "nh", "ль": "lh", "ж": "j", "ю": "o"}, "PT"),
    )
)
# Arabic writes v and w as و (first, or before a long a), g as ج or غ or ق:
# "ونترتور" is Winterthur, "ريجنسبورج" Regensburg.
_ARABIC_MORE = (
    (re.compile(r"\bو|و(?=ا)"), "w"),
    (re.compile("ج"), "g"),
    (re.compile("ق"), "g"),
    (re.compile("غ"), "g"),
)


def to_latin(folded: str) -> str:
    """A folded Greek, Cyrillic or Arabic text in Latin letters ("βερονα" -> "verona")."""
    text = folded
    for pair, latin in _GREEK_PAIRS.items():
        text = text.replace(pair, latin)
    return text.translate(_GREEK).translate(_CYRILLIC).translate(_ARABIC)


def skeleton(latin: str) -> str:
    """A name's consonants, as Arabic and Slavic spellings of it keep them:
    "valencia", "falnsya" -> "flns"; "nizhniy novgorod", "nizny nowogrod" ->
    "nznnfkrd". Vowels, h, j, w-as-vowel and doubled letters go."""
    text = latin.replace("ph", "f").replace("th", "t").replace("sch", "s").replace("ck", "k")
    text = _AFFRICATES.sub("C", text)  # ts, tz, cz, tsh, tch, a last c (Bihać): one sound
    out: list[str] = []
    for i, letter in enumerate(text):
        if letter in "aeiouyhj' ":
            continue
        if letter == "c":
            letter = "s" if text[i + 1 : i + 2] in ("e", "i", "y") else "k"
        elif letter == "C":
            letter = "c"
        letter = _SKELETON.get(letter, letter)
        if not letter.isascii() or not letter.isalpha():
            continue
        if not out or out[-1] != letter:
            out.append(letter)
    return "".join(out)


_AFFRICATES = re.compile("tsch|tsh|tch|ts|tz|cz|c(?![aeiouyhkz])|c$")
_SKELETON = {"v": "f", "w": "f", "p": "b", "g": "k", "q": "k", "x": "ks"}
