# ruff: noqa: E501  (questions and quotes are data, one per line)
"""Build ``eval/gold.jsonl``, the gold question set, from the questions and evidence quotes below.

Evidence offsets are never typed by hand: each quote is located in the cleaned article text
(``qa.corpus.load_corpus``), so the file can be regenerated whenever cleaning changes. A quote that
is missing or occurs more than once in its article stops the build.

    python eval/build_gold.py            # writes eval/gold.jsonl
    python eval/build_gold.py --check    # exits 1 if gold.jsonl is not what this script writes

The other corpora (``eval/corpora/NAME/``) have their questions written blind in
``questions.jsonl`` (format: ``eval/corpora/README.md``); the same script locates their quotes::

    python eval/build_gold.py --corpus NAME [--check]   # questions.jsonl -> gold.jsonl

A quote is found whatever the whitespace between its words. One that qa's extraction lost is kept
with the empty span ``start = end = -1`` (retrieval cannot find it: that is the extractor's miss,
not the question's) and listed on stderr.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.corpus import load_corpus  # noqa: E402
from qa.questions import question_parts  # noqa: E402

ARTICLES = ROOT / "data" / "articles"
OUT = ROOT / "eval" / "gold.jsonl"

# Shared fact variants (German first: the gold test checks them against the German evidence).
BRAZIL = ["Brasilien", "Brazil"]
FRANCE = ["Frankreich", "France"]
NETHERLANDS = ["Niederlande", "Netherlands", "Niederlanden", "Holland"]
MEXICO = ["Mexiko", "Mexico"]
JAPAN = ["Japan"]
KOREA = ["Südkorea", "South Korea", "Korea"]
MALAYSIA = ["Malaysia"]
DUBAI = ["Dubai"]
PHILIPPINES = ["Philippinen", "Philippines"]
SINGAPORE = ["Singapur", "Singapore"]
ROBOTICS = ["Robotik", "robotics", "Roboter", "robots", "robot"]
DRIVING = ["autonomes Fahren", "autonomen Fahren", "autonome Fahrzeuge", "autonomous driving",
           "autonomous vehicles", "self-driving", "autonomous cars"]
TRILLION = ["Billion", "Billionen", "trillion"]  # German Billion = 10^12 (normalised alike)
WOOD_SUM = ["16,3 Millionen", "16.3 million", "16 Millionen", "16 million"]

# fmt: off
# (question, language, kind, reference, facts, [(article prefix, quote), ...]);
# unanswerable items have reference "", facts [] and no evidence.
ITEMS: list[tuple[str, str, str, str, list[list[str]], list[tuple[str, str]]]] = [
    # ------------------------------------------------------------------ single facts
    ("Wer ist der Vorstandschef von Alibaba?", "de", "fact",
     "Alibabas CEO ist Eddie Wu (Eddie Yongming Wu, Wu Yongming).",
     [["Eddie Wu", "Eddie Yongming Wu", "Wu Yongming", "Yongming Wu"]],
     [("000", "CEO Eddie Wu präsentierte gestern auf einer Konferenz in Hangzhou nicht nur ehrgeizige Investitionspläne, sondern auch einen spektakulären Deal mit Nvidia."),
      ("003", "CEO Eddie Wu Yongming kündigte an, das bereits im Februar vorgestellte Investitionsprogramm von 380 Milliarden Yuan (53 Milliarden US-Dollar) für KI-Infrastruktur deutlich auszuweiten.")]),
    ("Who chairs Alibaba's board, and since when have the current leaders been in charge?", "en", "fact",
     "Joseph Tsai is chairman; he and CEO Eddie Yongming Wu took control in September 2023.",
     [["Joseph Tsai", "Tsai"], ["2023"]],
     [("004", "Diese Mittelbeschaffung erfolgt, während das Unternehmen unter neuer Führung mit Vorsitzendem Joseph Tsai und CEO Eddie Yongming Wu operiert, die im September 2023 die Kontrolle übernahmen.")]),
    ("Wie heißt der KI-Chip, den Alibaba Anfang 2025 selbst entwickelt hat?", "de", "fact",
     "Der hauseigene Chip heißt Zhenwu; er soll die Leistung von Top-Chips etwa von Nvidia erreichen.",
     [["Zhenwu"]],
     [("004", "Deshalb hat der Tech-Riese Anfang 2025 seinen eigenen Zhenwu-Chip entwickelt. Dieser hauseigene Prozessor erreicht die Leistung von Top-Chips von Unternehmen wie Nvidia.")]),
    ("Which telecom operator is already running Alibaba's own chips in its data centres?", "en", "fact",
     "China Unicom, a major telecom operator, already uses Alibaba's chips in its data centres.",
     [["China Unicom", "Unicom"]],
     [("004", "China Unicom, ein großer Telekommunikationsbetreiber, nutzt bereits Alibabas Chips in ihren Rechenzentren.")]),
    ("In welcher Stadt hielt Alibaba seine große KI-Konferenz ab?", "de", "fact",
     "Die Apsara-Konferenz fand in Hangzhou statt.",
     [["Hangzhou"]],
     [("003", "Die Apsara-Konferenz, Flaggschiffveranstaltung des chinesischen E-Commerce-Konzerns Alibaba, bekräftigte vom 24. bis 26. September 2025 in Hangzhou den Eintritt des Unternehmens in die nächste Phase des globalen KI-Revolutionszyklus."),
      ("000", "CEO Eddie Wu präsentierte gestern auf einer Konferenz in Hangzhou nicht nur ehrgeizige Investitionspläne, sondern auch einen spektakulären Deal mit Nvidia.")]),
    ("On which dates did the 2025 Apsara Conference take place?", "en", "fact",
     "It ran from 24 to 26 September 2025 (in Hangzhou).",
     [["24"], ["26"], ["September", "Sept"]],
     [("003", "Die Apsara-Konferenz, Flaggschiffveranstaltung des chinesischen E-Commerce-Konzerns Alibaba, bekräftigte vom 24. bis 26. September 2025 in Hangzhou den Eintritt des Unternehmens in die nächste Phase des globalen KI-Revolutionszyklus.")]),
    ("Welchem US-Konzern hilft Alibaba dabei, KI-Funktionen auf dessen Smartphones in China einzuführen?", "de", "fact",
     "Apple: Alibaba hilft bei der Einführung von KI-Funktionen für iPhones in China.",
     [["Apple"]],
     [("001", "Zudem spielt die Zusammenarbeit mit Apple eine Rolle: Alibaba hilft bei der Einführung von KI-Funktionen für iPhones in China.")]),
    ("Which Forrester analyst is quoted on the competition among China's big tech groups?", "en", "fact",
     "Charlie Dai of Forrester.",
     [["Charlie Dai"]],
     [("001", "Laut Analyst Charlie Dai (Forrester) werden die großen chinesischen Technologieunternehmen mit starken F&E-Kapazitäten wie Alibaba, Baidu, Tencent und Huawei letztendlich alle von der wachsenden Nachfrage nach KI-Lösungen profitieren.")]),
    ("Wer ist laut dem Bericht über Alibabas Quartalszahlen der Meinung, dass sich der Onlinehandel in China stabilisiert hat?", "de", "fact",
     "Li Chengdong, Gründer des E-Commerce-Thinktanks Haitun.",
     [["Li Chengdong"]],
     [("001", "Laut Li Chengdong, Gründer des E-Commerce-Thinktanks Haitun, hat Alibaba seine inländischen E-Commerce-Aktivitäten nach einer Schrumpfungsphase stabilisieren können.")]),
    ("Which head of state did Alibaba founder Jack Ma meet?", "en", "fact",
     "Jack Ma met President Xi Jinping, together with other top entrepreneurs.",
     [["Xi Jinping", "Xi"]],
     [("001", "Ma erschien am Montag bei einem hochkarätigen Treffen mit Präsident Xi Jinping und anderen Top-Unternehmern, was als Zeichen gesehen wird, dass er nach der Tech-Repression von 2020 vollständig rehabilitiert wurde.")]),
    ("Wie heißt die Cloud-Sparte von ByteDance, die in China auf Platz zwei liegt?", "de", "fact",
     "Volcano Engine (ByteDance), mit 14,8 % Marktanteil.",
     [["Volcano Engine", "Volcano"]],
     [("004", "Das ist mehr als doppelt so viel wie der Anteil des zweitplatzierten ByteDance’s Volcano Engine mit 14,8%.")]),
    ("What is the name of Alibaba's model meant to handle text, images, audio and video together?", "en", "fact",
     "Qwen3-Omni.",
     [["Qwen3-Omni", "Qwen3 Omni", "Qwen 3 Omni"]],
     [("000", "Mit „Qwen3-Omni“ geht Alibaba zudem in die Offensive bei Multimodalität: Text, Bild, Audio und Video sollen in einem Modell zusammengeführt werden.")]),
    ("Welche Investmentfirma um Cathie Wood hat wieder Alibaba-Aktien gekauft?", "de", "fact",
     "Ark Invest (Ark Investment Management), die Firma von Cathie Wood.",
     [["Ark"]],
     [("000", "Ark Invest um Cathie Wood griff zudem erstmals seit 2021 wieder zu und erwarb für über 16 Millionen Dollar Alibaba-Papiere."),
      ("003", "Das Signal wurde an den Börsen verstanden: Cathie Wood, Gründerin von Ark Investment Management, stieg nach vier Jahren erstmals wieder bei Alibaba ein und investierte 16,3 Millionen US-Dollar.")]),
    ("What is Alibaba's logistics business called?", "en", "fact",
     "Cainiao.",
     [["Cainiao"]],
     [("003", "Logistik (Cainiao)\n    → Globale Logistiknetzwerke werden mithilfe von KI optimiert.")]),
    ("Welches Qwen-Modell soll GPT-4 und Claude bei komplexen Denkaufgaben übertreffen?", "de", "fact",
     "Qwen 2.5.",
     [["Qwen 2.5", "Qwen2.5", "Qwen 2,5"]],
     [("004", "Qwen 2.5 übertrifft führende Modelle wie GPT-4 und Claude bei komplexen Denkaufgaben.")]),
    ("Are Alibaba's Qwen models open source?", "en", "fact",
     "Yes, Qwen remains open source, so developers worldwide can access and improve it.",
     [["Open-Source", "open source", "quelloffen"]],
     [("004", "Das Beste ist, dass Qwen Open-Source bleibt. Das bedeutet, dass Entwickler weltweit auf die Technologie zugreifen und sie verbessern können, wodurch Barrieren abgebaut werden, die Innovation oft begrenzen.")]),
    ("Nach welchem Ereignis von 2020 gilt Jack Ma nun als rehabilitiert?", "de", "fact",
     "Nach der Tech-Repression (dem Vorgehen gegen die Tech-Branche) von 2020.",
     [["2020"]],
     [("001", "Ma erschien am Montag bei einem hochkarätigen Treffen mit Präsident Xi Jinping und anderen Top-Unternehmern, was als Zeichen gesehen wird, dass er nach der Tech-Repression von 2020 vollständig rehabilitiert wurde.")]),
    ("Which kind of AI model is Alibaba building to compete with DeepSeek and OpenAI?", "en", "fact",
     "A deep-reasoning model, as part of its focus on artificial general intelligence (AGI).",
     [["Deep-Reasoning", "deep reasoning", "reasoning"]],
     [("001", "Das Unternehmen arbeitet an einem Deep-Reasoning-Modell, das mit fortschrittlichen Modellen von DeepSeek und OpenAI konkurrieren soll.")]),
    ("Welches Ziel verfolgt Alibaba mit der Entwicklung eigener KI-Chips laut der Analyse zum KI-Zyklus?", "de", "fact",
     "Die eigenen Chips sollen geopolitische Blockaden beim Zugang zu westlicher Hardware abfedern (Abhängigkeit von Nvidia und US-Exportbeschränkungen verringern).",
     [["westlicher Hardware", "western hardware", "Blockaden", "blockades", "geopolitische", "geopolitischen",
       "geopolitical", "Exportbeschränkungen", "export restrictions", "Abhängigkeit", "dependence", "dependency"]],
     [("003", "Zugleich arbeitet der Konzern an eigenen KI-Chips, um geopolitische Blockaden beim Zugang zu westlicher Hardware abzufedern.")]),
    ("Which partner of Alibaba is described as the world's most valuable company?", "en", "fact",
     "Nvidia, with which Alibaba announced a strategic partnership.",
     [["Nvidia"]],
     [("000", "Besonders aufmerksam verfolgten Investoren die Ankündigung einer strategischen Partnerschaft mit Nvidia, dem wertvollsten Konzern der Welt.")]),
    # ------------------------------------------------------------------ numbers
    ("Welchen Anteil am chinesischen KI-Cloud-Markt hält Alibaba?", "de", "number",
     "Alibaba Cloud hält 35,8 % des chinesischen KI-Cloud-Marktes.",
     [["35,8 %", "35.8 percent", "35,8%", "35.8%"]],
     [("004", "Der Tech-Riese beherrscht beeindruckende 35,8% des chinesischen KI-Cloud-Services-Marktes und lässt Konkurrenten verzweifelt aufholen.")]),
    ("How big is ByteDance's share of China's AI cloud market?", "en", "number",
     "ByteDance's Volcano Engine holds 14.8 percent, less than half of Alibaba's share.",
     [["14,8 %", "14.8%", "14.8 percent"]],
     [("004", "Das ist mehr als doppelt so viel wie der Anteil des zweitplatzierten ByteDance’s Volcano Engine mit 14,8%.")]),
    ("Wie viel vom chinesischen KI-Cloud-Markt entfällt auf Huawei Cloud?", "de", "number",
     "Huawei Cloud kommt auf 13,1 %.",
     [["13,1 %", "13.1%", "13.1 percent"]],
     [("004", "Huawei Cloud folgt mit 13,1%, während Tencent und Baidu kleinere Anteile mit 7% bzw. 6,1% ergreifen.")]),
    ("What shares of the Chinese AI cloud market do Tencent and Baidu have?", "en", "number",
     "Tencent has 7 percent and Baidu 6.1 percent.",
     [["7 %", "7%", "7 percent"], ["6,1 %", "6.1%", "6.1 percent"]],
     [("004", "Huawei Cloud folgt mit 13,1%, während Tencent und Baidu kleinere Anteile mit 7% bzw. 6,1% ergreifen.")]),
    ("Welchen Betrag brachte Alibabas Wandelanleihe ein?", "de", "number",
     "3,2 Milliarden Dollar über Wandelschuldverschreibungen.",
     [["3,2 Milliarden", "3.2 billion", "3,2 Mrd."]],
     [("004", "Der Tech-Riese sammelte 3,2 Milliarden Dollar durch eine spezielle Art von Anleihegeschäft, das die Aufmerksamkeit aller auf sich zog. Das sind keine gewöhnlichen Anleihen – es sind Wandelschuldverschreibungen, die später in Unternehmensaktien umgewandelt werden können.")]),
    ("What premium over the share price did buyers of Alibaba's convertible bonds pay?", "en", "number",
     "They paid 27.5% to 32.5% above the current share price.",
     [["27,5 %", "27.5%", "27.5 percent"], ["32,5 %", "32.5%", "32.5 percent"]],
     [("004", "Das macht es interessant: Alibaba verkaufte diese Anleihen mit einem Aufschlag, was bedeutet, dass Einzelpersonen 27,5% bis 32,5% mehr als den aktuellen Aktienkurs zahlten.")]),
    ("Wann bekommen die Käufer der Wandelanleihen ihr Geld zurück, und gibt es Zinsen?", "de", "number",
     "Nach sieben Jahren (oder durch Umwandlung in Aktien); regelmäßige Zinsen gibt es nicht.",
     [["7 Jahren", "7 Jahre", "7 years", "7 year", "7 Jahr"]],
     [("004", "Die Anleihen zahlen keine regelmäßigen Zinszahlungen. Stattdessen erhalten Investoren ihr Geld in sieben Jahren zurück oder können in Aktien umwandeln, wenn der Aktienkurs steigt.")]),
    ("What price did Alibaba's shares reach at the end of August, and how large was that day's gain?", "en", "number",
     "They rose to $125.85, a gain of 2.53%.",
     [["125,85", "125.85"], ["2,53 %", "2.53%", "2.53 percent"]],
     [("004", "Die Aktien des Tech-Riesen stiegen Ende August auf 125,85 Dollar und zeigten einen soliden Gewinn von 2,53%, der das wachsende Vertrauen in die KI-Ausrichtung des Unternehmens widerspiegelt.")]),
    ("Mit welchem Kurs-Gewinn-Vielfachen wird Alibaba gehandelt, verglichen mit Amazon?", "de", "number",
     "Alibaba wird mit dem 14-Fachen der erwarteten Gewinne gehandelt, Amazon mit dem 36-Fachen.",
     [["14"], ["36"]],
     [("004", "Mit einem Handel von nur dem 14-fachen der erwarteten Gewinne sieht es wie ein Schnäppchen im Vergleich zu Amazons heftigem 36-fachen Multiplikator aus.")]),
    ("How big is Alibaba's share buyback programme and how much did it cut the share count in fiscal 2025?", "en", "number",
     "An $11.9 billion buyback that reduced outstanding shares by 5.1% in fiscal year 2025.",
     [["11,9 Milliarden", "11.9 billion"], ["5,1 %", "5.1%", "5.1 percent"]],
     [("004", "Die aggressive Kapitalallokationsstrategie des Unternehmens umfasst ein 11,9 Milliarden Dollar Rückkaufprogramm, das die ausstehenden Aktien im Geschäftsjahr 2025 um 5,1% reduzierte.")]),
    ("Wie schnell sollen Alibabas Gewinne bis 2027 jährlich wachsen?", "de", "number",
     "Um über 20 % pro Jahr bis 2027.",
     [["20 %", "20%", "20 percent"]],
     [("004", "Mit Gewinnen, die voraussichtlich bis 2027 jährlich über 20% wachsen werden, scheint diese Aufregung gut begründet.")]),
    ("How fast did China's AI cloud market grow in 2024, and what size did it reach?", "en", "number",
     "It grew 55% in 2024 to $2.7 billion.",
     [["55 %", "55%", "55 percent"], ["2,7 Milliarden", "2.7 billion"]],
     [("004", "Chinas KI-Cloud-Markt explodierte 2024 um 55% und erreichte 2,7 Milliarden Dollar.")]),
    ("Auf welches Volumen soll der chinesische KI-Cloud-Markt 2025 anwachsen?", "de", "number",
     "Auf 7,3 Milliarden Dollar – mehr als eine Verdopplung.",
     [["7,3 Milliarden", "7.3 billion"]],
     [("004", "Experten prognostizieren, dass er sich 2025 auf 7,3 Milliarden Dollar mehr als verdoppeln wird.")]),
    ("How many availability zones and regions does Alibaba Cloud operate worldwide?", "en", "number",
     "89 availability zones in 29 regions.",
     [["89"], ["29"]],
     [("004", "Das Unternehmen betreibt 89 Verfügbarkeitszonen in 29 Regionen weltweit und stellt die Infrastruktur-Grundlage zur Verfügung, um diese massive Markterweiterung zu unterstützen.")]),
    ("Wie viele Sprachen beherrscht Qwen 2.5, und wie lang dürfen Dokumente sein?", "de", "number",
     "Über 29 Sprachen; Dokumente mit bis zu 128.000 Wörtern.",
     [["29"], ["128.000", "128,000", "128000", "128k"]],
     [("004", "Das System beherrscht über 29 Sprachen und verarbeitet Dokumente mit bis zu 128.000 Wörtern Länge.")]),
    ("On how much data was Qwen trained?", "en", "number",
     "On 18 trillion pieces of information (tokens).",
     [["18 Billionen", "18 trillion"]],
     [("004", "Es ist auf 18 Billionen Informationsstücken trainiert, was ihm eine unglaubliche Wissenstiefe verleiht.")]),
    ("Wie groß ist Qwen3-Max?", "de", "number",
     "Qwen3-Max hat über eine Billion Parameter.",
     [TRILLION],
     [("002", "Das Herzstück der Offensive bildet Qwen3-Max, das mit über einer Billion Parametern leistungsstärkste Sprachmodell des Unternehmens."),
      ("003", "Ergänzt wird dies durch die Qwen-Modellfamilie, zuletzt Qwen3-Max mit über einer Billion Parametern.")]),
    ("What Altman Z-score does Alibaba have?", "en", "number",
     "3.54, a sign of financial stability.",
     [["3,54", "3.54"]],
     [("004", "Das Unternehmen behält eine starke finanzielle Gesundheit mit einem Altman Z-Score von 3,54 bei, was die nötige Stabilität für langfristige Chip-Entwicklungsinvestitionen bietet.")]),
    ("Welchen Anteil am weltweiten Cloud-Markt hat Alibaba, und wie hoch war er 2020?", "de", "number",
     "Nur 4 %, nach 6 % im Jahr 2020.",
     [["4 %", "4%", "4 percent"], ["6 %", "6%", "6 percent"]],
     [("004", "Während Amazon Web Services fast 30% des globalen Cloud-Marktes beherrscht, hält Alibaba nur 4% – ein Rückgang von 6% im Jahr 2020.")]),
    ("How many availability zones does Microsoft operate, and in how many regions is Amazon present?", "en", "number",
     "Microsoft runs 116 zones worldwide; Amazon operates in 31 regions with over 100 availability zones.",
     [["116"], ["31"]],
     [("004", "Amazon operiert in 31 globalen Regionen mit über 100 Verfügbarkeitszonen, während Microsoft 116 Zonen weltweit betreibt.")]),
    ("Wie viel wurde im zweiten Quartal 2025 weltweit für Cloud-Dienste ausgegeben?", "de", "number",
     "99 Milliarden Dollar im Q2 2025.",
     [["99 Milliarden", "99 billion"]],
     [("004", "Der Cloud-Markt erreichte 99 Milliarden Dollar an Ausgaben im Q2 2025, was das Ausmaß der Einnahmen verdeutlicht, die Alibaba in globalen Märkten verpasst.")]),
    ("By how much did Alibaba cut prices on some AI tools, and what happened to its free cash flow?", "en", "number",
     "Prices were cut by up to 97% on some AI tools; free cash flow fell 76%.",
     [["97 %", "97%", "97 percent"], ["76 %", "76%", "76 percent"]],
     [("004", "Alibaba senkte die Preise um 97% bei einigen KI-Tools, nur um im Spiel zu bleiben. Das sind großartige Neuigkeiten für Kunden, aber hart für die Gewinne. Der freie Cashflow des Unternehmens sank um 76%, da schwere Ausgaben für Infrastruktur ihren Tribut fordern.")]),
    ("Wie groß ist der KI-Fonds der chinesischen Regierung?", "de", "number",
     "8,2 Milliarden Dollar.",
     [["8,2 Milliarden", "8.2 billion"]],
     [("004", "Regierungsunterstützung durch einen 8,2 Milliarden Dollar KI-Fonds befeuert rasante Innovation")]),
    ("What computing capacity has China's Eastern Data, Western Computing initiative reached?", "en", "number",
     "246 EFLOP/s.",
     [["246"]],
     [("004", "Die Eastern Data, Western Computing Initiative hat eine massive Rechenkapazität von 246 EFLOP/s erreicht, um diese technologische Unabhängigkeit zu unterstützen.")]),
    ("Wie viele KI-Fachleute will Alibaba pro Jahr ausbilden?", "de", "number",
     "100.000 KI-Spezialisten jährlich.",
     [["100.000", "100,000", "100000"]],
     [("004", "Jährliche Ausbildung von 100.000 KI-Spezialisten zum Aufbau von Talentvorteilen")]),
    ("With how many tech companies and universities does Alibaba want to partner?", "en", "number",
     "More than 500 technology companies and more than 120 universities worldwide.",
     [["500"], ["120"]],
     [("004", "Partnerschaften mit über 500 Technologieunternehmen und über 120 Universitäten weltweit")]),
    ("Wie hoch waren Alibabas Investitionsausgaben 2024 im Vergleich zum Vorjahr?", "de", "number",
     "Rmb72,5 Milliarden (10 Milliarden Euro), dreimal so viel wie im Vorjahr.",
     [["72,5", "72.5", "10 Milliarden Euro", "10 billion euros"]],
     [("001", "Im Jahr 2024 betrugen die Gesamtkapitalausgaben Rmb72,5 Milliarden (10 Milliarden Euro), dreimal so viel wie im Vorjahr.")]),
    ("How much did Alibaba's revenue grow in the last quarter of 2024, and to what total?", "en", "number",
     "Revenue rose 8% to Rmb280 billion, the strongest increase in over a year.",
     [["8 %", "8%", "8 percent"], ["280"]],
     [("001", "Der Umsatz stieg im letzten Quartal 2024 um acht Prozent auf Rmb280 Milliarden, der stärkste Anstieg seit über einem Jahr.")]),
    ("Wie entwickelte sich Alibabas internationales Onlinehandelsgeschäft?", "de", "number",
     "Der Umsatz stieg um 32 % auf Rmb37,8 Milliarden, teils dank AliExpress.",
     [["32 %", "32%", "32 percent"], ["37,8", "37.8"]],
     [("001", "Der Umsatz aus diesem Bereich stieg um 32 Prozent auf Rmb37,8 Milliarden, teilweise dank des Erfolgs von AliExpress, das zunehmend Ähnlichkeiten mit Temu aufweist.")]),
    ("How did Alibaba's e-commerce revenue inside China develop, and why?", "en", "number",
     "It grew 5% to Rmb136 billion, mainly because of higher charges for sellers on Taobao and Tmall.",
     [["5 %", "5%", "5 percent"], ["136"]],
     [("001", "Innerhalb Chinas wuchs der E-Commerce-Umsatz um fünf Prozent auf Rmb136 Milliarden, hauptsächlich durch höhere Kosten für Verkäufer auf Taobao und Tmall.")]),
    ("Seit wie vielen Quartalen in Folge legen Alibabas KI-Produkte um mehr als 100 % zu?", "de", "number",
     "Seit acht Quartalen in Folge (zum achten Quartal in Folge).",
     [["8", "achten", "eighth"]],
     [("002", "Die Cloud-Sparte verzeichnete ein Umsatzplus von 26 Prozent, während KI-Produkte bereits zum achten Quartal in Folge dreistellige Wachstumsraten erreichten.")]),
    ("By how much did Alibaba shares climb within a single month around the Apsara conference?", "en", "number",
     "Over 40% in the last month, reaching its highest level in almost four years.",
     [["40 %", "40%", "40 percent"]],
     [("002", "Die Reaktion der Märkte blieb nicht aus: Die Aktie notiert auf ihrem höchsten Stand seit fast vier Jahren und hat allein im letzten Monat über 40 Prozent zugelegt.")]),
    ("Wie viel steckte Cathie Woods Fonds in Alibaba-Aktien?", "de", "number",
     "16,3 Millionen US-Dollar (laut anderem Bericht: über 16 Millionen Dollar).",
     [WOOD_SUM],
     [("003", "Das Signal wurde an den Börsen verstanden: Cathie Wood, Gründerin von Ark Investment Management, stieg nach vier Jahren erstmals wieder bei Alibaba ein und investierte 16,3 Millionen US-Dollar."),
      ("000", "Ark Invest um Cathie Wood griff zudem erstmals seit 2021 wieder zu und erwarb für über 16 Millionen Dollar Alibaba-Papiere.")]),
    ("By 2030, how large should Alibaba's international infrastructure be compared with 2022?", "en", "number",
     "Five times the 2022 level.",
     [["5", "Fünffache", "fivefold", "5x", "5-fold"]],
     [("003", "Bis 2030 soll die internationale Infrastruktur das Fünffache des Standes von 2022 erreichen.")]),
    ("Welches Kursziel je ADR nennt das optimistische Szenario, und welcher Cloud-Anteil am Umsatz wird dort angenommen?", "de", "number",
     "200–240 USD je ADR, bei einem Cloud-Umsatzanteil von 30 %.",
     [["200"], ["240"], ["30 %", "30%", "30 percent"]],
     [("003", "Optimistisch: Alibaba nutzt die zweite Welle des KI-Zyklus voll aus, die internationale Expansion gelingt, der Cloud-Umsatzanteil steigt auf 30 %, Kursziel 200–240 USD je ADR.")]),
    ("What growth rate, cloud share and price target does the realistic scenario assume?", "en", "number",
     "Growth of 8–10%, cloud at 25%, price target USD 140–180.",
     [["8"], ["10 %", "10%"], ["25 %", "25%"], ["140"], ["180"]],
     [("003", "Realistisch: Wachstum von 8–10 %, Cloud bei 25 %, geopolitische Belastungen bleiben, Kursziel 140–180 USD.")]),
    ("Welches Kursziel ergibt sich im pessimistischen Szenario und warum?", "de", "number",
     "70–90 USD, wegen Blockaden beim Chipzugang und Margendruck durch hohe Investitionen (CapEx).",
     [["70"], ["90"]],
     [("003", "Pessimistisch: Blockaden beim Chipzugang, Margendruck durch CapEx, Kursziel 70–90 USD.")]),
    ("How much did Nvidia recently invest in OpenAI?", "en", "number",
     "$100 billion.",
     [["100 Milliarden", "100 billion"]],
     [("000", "Dass Nvidia zuletzt selbst mit 100 Milliarden Dollar in OpenAI investierte, unterstreicht die Dynamik des Feldes.")]),
    ("Wie viel wollte Alibaba laut der Ankündigung vom Februar über drei Jahre in KI-Infrastruktur stecken?", "de", "number",
     "Mehr als 53 Milliarden Dollar (380 Milliarden Yuan) über drei Jahre.",
     [["53 Milliarden", "53 billion", "380 Milliarden", "380 billion"]],
     [("000", "Bereits im Februar hatte das Unternehmen angekündigt, über drei Jahre hinweg mehr als 53 Milliarden Dollar in KI-Infrastruktur zu investieren."),
      ("003", "CEO Eddie Wu Yongming kündigte an, das bereits im Februar vorgestellte Investitionsprogramm von 380 Milliarden Yuan (53 Milliarden US-Dollar) für KI-Infrastruktur deutlich auszuweiten.")]),
    ("How much did Alibaba's Hong Kong shares rise after Cathie Wood bought back in?", "en", "number",
     "They jumped 9.2%, to the highest level since 2021.",
     [["9,2 %", "9.2%", "9.2 percent"]],
     [("003", "Die Aktie in Hongkong sprang daraufhin um 9,2 Prozent – der höchste Stand seit 2021.")]),
    ("Um wie viel Prozent legte die Aktie in Hongkong zu, als Alibaba ankündigte, in drei Jahren mehr für KI auszugeben als im ganzen letzten Jahrzehnt?", "de", "number",
     "Um 12,6 Prozent (am Freitag an der Börse Hongkong).",
     [["12,6 %", "12.6%", "12.6 percent"]],
     [("001", "Anleger reagierten begeistert: Die Aktie stieg am Freitag an der Börse in Hongkong um 12,6 Prozent.")]),
    ("Wo entsteht Alibabas globales KI-Kompetenzzentrum, und wie viele Unternehmen soll es bedienen?", "de", "number",
     "Ein AI Global Competency Center in Singapur für 5.000 Unternehmen.",
     [SINGAPORE, ["5.000", "5,000", "5000"]],
     [("004", "Einrichtung eines AI Global Competency Centers in Singapur für 5.000 Unternehmen")]),
    # ------------------------------------------------------------------ lists
    ("In welchen Ländern sollen neue Alibaba-Rechenzentren noch 2025 den Betrieb aufnehmen?", "de", "list",
     "In Brasilien, Frankreich und den Niederlanden.",
     [BRAZIL, FRANCE, NETHERLANDS],
     [("000", "Neue Rechenzentren in Brasilien, Frankreich und den Niederlanden sollen bereits 2025 an den Start gehen.")]),
    ("Which locations are next in Alibaba's data-centre pipeline after Brazil, France and the Netherlands?", "en", "list",
     "Mexico, Japan, South Korea, Malaysia and Dubai.",
     [MEXICO, JAPAN, KOREA, MALAYSIA, DUBAI],
     [("000", "In der Pipeline stehen Standorte in Mexiko, Japan, Südkorea, Malaysia und Dubai."),
      ("002", "Neue Rechenzentren in Brasilien, Frankreich und den Niederlanden sind geplant, gefolgt von Standorten in Mexiko, Japan, Südkorea, Malaysia und Dubai."),
      ("003", "in Brasilien, Frankreich und den Niederlanden, mit weiteren Standorten in Malaysia, Mexiko, Japan, Südkorea und Dubai.")]),
    ("Welche chinesischen KI-Startups unterstützt Alibaba finanziell?", "de", "list",
     "Moonshot und 01.ai.",
     [["Moonshot"], ["01.ai", "01 ai", "01ai"]],
     [("001", "Alibaba investiert nicht nur in die eigene KI-Entwicklung, sondern steckt auch Geld in vielversprechende chinesische KI-Startups wie Moonshot und 01.ai.")]),
    ("Which rivals does Alibaba hope to get ahead of with its start-up investments?", "en", "list",
     "Baidu and ByteDance.",
     [["Baidu"], ["ByteDance"]],
     [("001", "Mit diesen strategischen Investitionen hofft das Unternehmen, einen Vorsprung gegenüber Rivalen wie Baidu und ByteDance zu gewinnen.")]),
    ("Welche chinesischen Konzerne sieht der Forrester-Analyst als Gewinner des KI-Booms?", "de", "list",
     "Alibaba, Baidu, Tencent und Huawei.",
     [["Alibaba"], ["Baidu"], ["Tencent"], ["Huawei"]],
     [("001", "Laut Analyst Charlie Dai (Forrester) werden die großen chinesischen Technologieunternehmen mit starken F&E-Kapazitäten wie Alibaba, Baidu, Tencent und Huawei letztendlich alle von der wachsenden Nachfrage nach KI-Lösungen profitieren.")]),
    ("Which US hyperscalers carried the first wave of AI investment?", "en", "list",
     "Microsoft, Amazon and Google.",
     [["Microsoft"], ["Amazon"], ["Google"]],
     [("003", "Während die erste Welle von Investitionen vor allem von US-Hyperscalern wie Microsoft, Amazon und Google getragen wurde, setzt nun auch die Alibaba Group Holding mit Nachdruck auf Künstliche Intelligenz als strategisches Zentrum der Unternehmensentwicklung.")]),
    ("Welche Wettbewerber setzen Alibabas reifem Onlinehandel laut der Zyklus-Analyse zu?", "de", "list",
     "JD.com, Pinduoduo und Douyin.",
     [["JD.com", "JD"], ["Pinduoduo"], ["Douyin"]],
     [("003", "Der Wettbewerb (JD.com, Pinduoduo, Douyin) zwingt zur Konsolidierung.")]),
    ("Which Alibaba businesses does the AI-cycle analysis place in the market-consolidation phase?", "en", "list",
     "E-commerce (Taobao, Tmall), Ant Group / fintech and logistics (Cainiao).",
     [["E-Commerce", "ecommerce", "Taobao"], ["Ant Group", "FinTech", "Ant"], ["Cainiao", "Logistik", "logistics"]],
     [("003", "3. Marktbereinigung\n\n  • E-Commerce (Taobao, Tmall)"),
      ("003", "Ant Group / FinTech\n    → Durch Regulierung stark gebremst, aber zugleich Schlüsselfeld für KI-gestützte Finanzdienste."),
      ("003", "Logistik (Cainiao)\n    → Globale Logistiknetzwerke werden mithilfe von KI optimiert.")]),
    ("Welche Medienarten soll Qwen3-Omni in einem Modell vereinen?", "de", "list",
     "Text, Bild, Audio und Video.",
     [["Text"], ["Bild", "Bilder", "image", "images"], ["Audio"], ["Video"]],
     [("000", "Mit „Qwen3-Omni“ geht Alibaba zudem in die Offensive bei Multimodalität: Text, Bild, Audio und Video sollen in einem Modell zusammengeführt werden.")]),
    ("Which shopping platforms has Alibaba's business traditionally been built on?", "en", "list",
     "Taobao and Tmall.",
     [["Taobao"], ["Tmall"]],
     [("000", "Alibaba will seine Zukunft nicht länger allein auf Handelsplattformen wie Taobao und Tmall gründen.")]),
    ("Welche Punkte umfasst Alibabas dreijährige Expansionsstrategie in Südostasien?", "de", "list",
     "Drittes Rechenzentrum in Malaysia und zweites auf den Philippinen bis Oktober 2025, KI-Kompetenzzentrum in Singapur für 5.000 Firmen, jährlich 100.000 KI-Fachkräfte, Partnerschaften mit über 500 Firmen und 120 Universitäten, regionsspezifische KI-Modelle.",
     [MALAYSIA, PHILIPPINES, SINGAPORE],
     [("004", "Eröffnung des dritten Rechenzentrums in Malaysia und des zweiten auf den Philippinen bis Oktober 2025\n- Einrichtung eines AI Global Competency Centers in Singapur für 5.000 Unternehmen")]),
    ("Which Chinese tech groups does the analysis describe as strong at home but with limited international reach?", "en", "list",
     "Huawei, Tencent and Baidu.",
     [["Huawei"], ["Tencent"], ["Baidu"]],
     [("003", "Huawei/Tencent/Baidu: Nationale Stärke, international begrenztere Wirkung.")]),
    ("Wie verteilen sich die Anteile der drei großen westlichen Anbieter am weltweiten Cloud-Markt?", "de", "list",
     "AWS fast 30 %, Microsoft Azure 23 %, Google Cloud 13 %; zusammen über 60 %.",
     [["30 %", "30%"], ["23 %", "23%"], ["13 %", "13%"]],
     [("004", "Während Amazon Web Services fast 30% des globalen Cloud-Marktes beherrscht, hält Alibaba nur 4% – ein Rückgang von 6% im Jahr 2020. Microsoft Azure sitzt komfortabel bei 23%, während Google Cloud 13% erobert.")]),
    # ------------------------------------------------------------------ two articles
    ("How big was Alibaba's original AI infrastructure budget in yuan, and in dollars?", "en", "multi_doc",
     "380 billion yuan, about $53 billion; at Apsara 2025 Alibaba said it would exceed it.",
     [["380"], ["53"]],
     [("002", "Das bisher geplante Budget von 380 Milliarden Yuan wird noch übertroffen - ein klares Signal, dass Alibaba im KI-Wettrennen nicht nur mitspielen, sondern dominieren will."),
      ("000", "Bereits im Februar hatte das Unternehmen angekündigt, über drei Jahre hinweg mehr als 53 Milliarden Dollar in KI-Infrastruktur zu investieren.")]),
    ("Wie viele Parameter hat Qwen3-Max, und welche Konkurrenten soll es übertreffen?", "de", "multi_doc",
     "Über eine Billion Parameter; nach Alibabas Angaben ist es leistungsfähiger als Angebote von Anthropic und DeepSeek.",
     [TRILLION, ["Anthropic"], ["DeepSeek"]],
     [("002", "Das Herzstück der Offensive bildet Qwen3-Max, das mit über einer Billion Parametern leistungsstärkste Sprachmodell des Unternehmens."),
      ("000", "Auch das neue Sprachmodell Qwen3-Max wurde vorgestellt – nach eigenen Angaben leistungsfähiger als Konkurrenzangebote von Anthropic oder DeepSeek.")]),
    ("How much did Cathie Wood's firm invest in Alibaba, and when had it last bought the stock?", "en", "multi_doc",
     "Ark invested $16.3 million (over $16 million), its first purchase since 2021, i.e. after four years.",
     [WOOD_SUM, ["2021"]],
     [("003", "Das Signal wurde an den Börsen verstanden: Cathie Wood, Gründerin von Ark Investment Management, stieg nach vier Jahren erstmals wieder bei Alibaba ein und investierte 16,3 Millionen US-Dollar."),
      ("000", "Ark Invest um Cathie Wood griff zudem erstmals seit 2021 wieder zu und erwarb für über 16 Millionen Dollar Alibaba-Papiere.")]),
    ("Welche Rolle spielt Gründer Jack Ma inzwischen wieder, und mit wem traf er sich?", "de", "multi_doc",
     "Jack Ma ist in einer aktiveren strategischen Rolle zurück; er traf Präsident Xi Jinping und gilt nach 2020 als rehabilitiert.",
     [["Xi Jinping", "Xi"]],
     [("001", "Ma erschien am Montag bei einem hochkarätigen Treffen mit Präsident Xi Jinping und anderen Top-Unternehmern, was als Zeichen gesehen wird, dass er nach der Tech-Repression von 2020 vollständig rehabilitiert wurde."),
      ("002", "Nach einer mehrjährigen Durststrecke und dem Wiederauftauchen von Gründer Jack Ma in einer aktiveren strategischen Rolle sucht Alibaba konsequent den Neuanfang.")]),
    ("How much did Alibaba spend on capex in 2024, and how big is the three-year AI infrastructure programme?", "en", "multi_doc",
     "Capex was Rmb72.5 billion (€10 billion) in 2024, three times the year before; the programme is 380 billion yuan ($53 billion) and is being expanded.",
     [["72,5", "72.5", "10 Milliarden Euro", "10 billion euros"], ["380", "53"]],
     [("001", "Im Jahr 2024 betrugen die Gesamtkapitalausgaben Rmb72,5 Milliarden (10 Milliarden Euro), dreimal so viel wie im Vorjahr."),
      ("003", "CEO Eddie Wu Yongming kündigte an, das bereits im Februar vorgestellte Investitionsprogramm von 380 Milliarden Yuan (53 Milliarden US-Dollar) für KI-Infrastruktur deutlich auszuweiten.")]),
    ("Entwickelt Alibaba eigene KI-Chips, und wer setzt sie schon ein?", "de", "multi_doc",
     "Ja: Alibaba entwickelt eigene Chips (u. a. den Zhenwu-Chip), um Blockaden beim Zugang zu westlicher Hardware abzufedern; China Unicom nutzt sie bereits.",
     [["Zhenwu"], ["China Unicom", "Unicom"]],
     [("003", "Zugleich arbeitet der Konzern an eigenen KI-Chips, um geopolitische Blockaden beim Zugang zu westlicher Hardware abzufedern."),
      ("004", "Deshalb hat der Tech-Riese Anfang 2025 seinen eigenen Zhenwu-Chip entwickelt."),
      ("004", "China Unicom, ein großer Telekommunikationsbetreiber, nutzt bereits Alibabas Chips in ihren Rechenzentren.")]),
    ("Which European countries get new Alibaba data centres, and where in Southeast Asia will it open facilities by October 2025?", "en", "multi_doc",
     "France and the Netherlands (plus Brazil); by October 2025 a third data centre in Malaysia and a second in the Philippines.",
     [FRANCE, NETHERLANDS, MALAYSIA, PHILIPPINES],
     [("000", "Neue Rechenzentren in Brasilien, Frankreich und den Niederlanden sollen bereits 2025 an den Start gehen."),
      ("004", "Eröffnung des dritten Rechenzentrums in Malaysia und des zweiten auf den Philippinen bis Oktober 2025")]),
    ("Wie wuchs Alibabas Cloud-Umsatz Ende 2024, und wie stark wuchs der chinesische KI-Cloud-Markt 2024 insgesamt?", "de", "multi_doc",
     "Alibabas Cloud-Umsatz stieg im letzten Quartal 2024 um 13 % auf Rmb31,7 Milliarden; der KI-Cloud-Markt in China wuchs 2024 um 55 % auf 2,7 Milliarden Dollar.",
     [["13 %", "13%"], ["31,7", "31.7"], ["55 %", "55%"]],
     [("001", "Besonders die Cloud-Sparte leistete mit einem Umsatzwachstum von 13 Prozent auf Rmb31,7 Milliarden gute Arbeit."),
      ("004", "Chinas KI-Cloud-Markt explodierte 2024 um 55% und erreichte 2,7 Milliarden Dollar.")]),
    ("What will Alibaba and Nvidia work on together?", "en", "multi_doc",
     "Software and toolkits for AI training in robotics (incl. humanoid robots) and autonomous driving – 'Physical AI' / 'embodied AI'.",
     [ROBOTICS, DRIVING],
     [("000", "Gemeinsam wollen die Unternehmen Softwarelösungen für KI-Training in Bereichen wie Robotik und autonomes Fahren entwickeln."),
      ("002", "Die Zusammenarbeit zielt auf \"Physical AI\" - also die Verbindung künstlicher Intelligenz mit der physischen Welt. Schwerpunktbereiche wie humanoide Roboter und autonomes Fahren zeigen, dass Alibaba die nächste Generation der KI-Revolution im Visier hat."),
      ("003", "Entwickler erhalten Zugang zu Toolkits für „embodied AI“ – Anwendungen, die in physischer Interaktion stehen, etwa Robotik oder autonome Fahrzeuge.")]),
    ("Ist Alibaba im Vergleich zu US-Tech-Konzernen günstig bewertet?", "de", "multi_doc",
     "Ja: günstiger als Amazon, Alphabet oder Microsoft; Alibaba wird mit dem 14-Fachen der erwarteten Gewinne gehandelt, Amazon mit dem 36-Fachen.",
     [["14"], ["36"]],
     [("000", "Einerseits lockt die im Vergleich zu Amazon, Alphabet oder Microsoft immer noch günstigere Bewertung."),
      ("004", "Mit einem Handel von nur dem 14-fachen der erwarteten Gewinne sieht es wie ein Schnäppchen im Vergleich zu Amazons heftigem 36-fachen Multiplikator aus.")]),
    ("Which new AI models did Alibaba present and how large is the flagship?", "en", "multi_doc",
     "Qwen3-Max, with over one trillion parameters, and the multimodal Qwen3-Omni.",
     [["Qwen3-Max", "Qwen3 Max", "Qwen 3 Max"], ["Qwen3-Omni", "Qwen3 Omni", "Qwen 3 Omni"], TRILLION],
     [("000", "Auch das neue Sprachmodell Qwen3-Max wurde vorgestellt – nach eigenen Angaben leistungsfähiger als Konkurrenzangebote von Anthropic oder DeepSeek. Mit „Qwen3-Omni“ geht Alibaba zudem in die Offensive bei Multimodalität: Text, Bild, Audio und Video sollen in einem Modell zusammengeführt werden."),
      ("002", "Das Herzstück der Offensive bildet Qwen3-Max, das mit über einer Billion Parametern leistungsstärkste Sprachmodell des Unternehmens.")]),
    # ------------------------------------------------------------------ articles differ / other periods
    ("How fast is Alibaba's cloud business growing?", "en", "conflict",
     "It depends on the period: 26% in the latest quarter (reports from September 2025), versus 13% (to Rmb31.7 billion) in the last quarter of 2024.",
     [["26 %", "26%", "26 percent"], ["13 %", "13%", "13 percent"]],
     [("000", "Im jüngsten Quartal wuchs das Cloud-Geschäft um 26 Prozent und trug maßgeblich zu den starken Ergebnissen bei."),
      ("002", "Die Cloud-Sparte verzeichnete ein Umsatzplus von 26 Prozent, während KI-Produkte bereits zum achten Quartal in Folge dreistellige Wachstumsraten erreichten."),
      ("001", "Besonders die Cloud-Sparte leistete mit einem Umsatzwachstum von 13 Prozent auf Rmb31,7 Milliarden gute Arbeit.")]),
    ("Wie stark stieg die Alibaba-Aktie nach den KI-Ankündigungen?", "de", "conflict",
     "Die Artikel beziehen sich auf verschiedene Tage: Nach den Quartalszahlen im Februar stieg die Aktie in Hongkong um 12,6 % (in den USA um mehr als 9 %); nach der Konferenz im September legten die US-ADRs um fast (bzw. über) 8 % zu; nach Cathie Woods Einstieg sprang die Aktie in Hongkong um 9,2 %.",
     [["12,6", "12.6"], ["8 %", "8%", "acht Prozent"], ["9,2", "9.2"]],
     [("001", "Anleger reagierten begeistert: Die Aktie stieg am Freitag an der Börse in Hongkong um 12,6 Prozent."),
      ("000", "Die Börse reagierte begeistert: Die in den USA gehandelten ADRs kletterten um fast acht Prozent auf den höchsten Stand seit vier Jahren."),
      ("003", "Die Aktie in Hongkong sprang daraufhin um 9,2 Prozent – der höchste Stand seit 2021.")]),
    ("How much money is behind Alibaba's multi-year AI and cloud expansion plan?", "en", "conflict",
     "Most reports give 380 billion yuan, i.e. about $53 billion over three years (now to be exceeded); the article on the global expansion says over $52 billion.",
     [["53"], ["52"]],
     [("000", "Bereits im Februar hatte das Unternehmen angekündigt, über drei Jahre hinweg mehr als 53 Milliarden Dollar in KI-Infrastruktur zu investieren."),
      ("004", "Alibaba erkennt die Notwendigkeit, über sein Heimatgebiet hinaus zu konkurrieren, und hat einen ehrgeizigen globalen Expansionsplan im Wert von über 52 Milliarden Dollar gestartet.")]),
    ("Wie stark ist die Alibaba-Aktie seit Jahresbeginn gestiegen?", "de", "conflict",
     "Je nach Zeitpunkt: Im Frühjahr 2025 über 60 % für das Jahr (an anderer Stelle im selben Artikel: mehr als 50 % seit Jahresbeginn); im September hatte sich die Aktie seit Jahresbeginn mehr als verdoppelt.",
     [["60 %", "60%", "50 %", "50%"], ["verdoppelt", "doubled", "double", "verdoppeln", "100 %", "100%"]],
     [("001", "Insgesamt ergibt sich damit ein Anstieg von über 60 Prozent für das Jahr 2025."),
      ("001", "Die Aktie ist seit Jahresbeginn bereits um mehr als 50 Prozent gestiegen."),
      ("000", "Die Aktie hat sich seit Jahresbeginn mehr als verdoppelt – eine enorme Outperformance gegenüber den großen US-Tech-Werten.")]),
    ("How much did Alibaba's US-listed shares rise?", "en", "conflict",
     "After the September conference the ADRs rose by almost 8% (the same article later says over 8%); after the February results they rose by more than 9% in the US.",
     [["8 %", "8%", "acht Prozent"], ["9 %", "9%", "neun Prozent"]],
     [("000", "Die Börse reagierte begeistert: Die in den USA gehandelten ADRs kletterten um fast acht Prozent auf den höchsten Stand seit vier Jahren."),
      ("000", "Der jüngste Kurssprung von über acht Prozent zeigt: Anleger goutieren den Strategiewechsel."),
      ("001", "In den USA stieg der Kurs der Alibaba-Aktien am Freitag um mehr als neun Prozent.")]),
    ("In welchen asiatischen Ländern baut Alibaba Rechenzentren?", "de", "conflict",
     "Die Berichte zur Apsara-Konferenz nennen Japan, Südkorea und Malaysia (dazu Dubai); der Artikel zur Expansion in Südostasien nennt Malaysia und die Philippinen, Südkorea ist in Planung.",
     [MALAYSIA, JAPAN, KOREA, PHILIPPINES],
     [("000", "In der Pipeline stehen Standorte in Mexiko, Japan, Südkorea, Malaysia und Dubai."),
      ("004", "Das Unternehmen errichtet neue Rechenzentren in Malaysia und den Philippinen, während es Einrichtungen in Südkorea plant, um seine KI-Arbeitslasten zu unterstützen und die Betriebslatenz zu reduzieren.")]),
    ("Wie hoch ist Alibabas Marktanteil im Cloud-Geschäft?", "de", "conflict",
     "Das hängt vom Markt ab: Im chinesischen KI-Cloud-Markt 35,8 %, im weltweiten Cloud-Markt nur 4 % (2020: 6 %).",
     [["35,8", "35.8"], ["4 %", "4%"]],
     [("004", "Der Tech-Riese beherrscht beeindruckende 35,8% des chinesischen KI-Cloud-Services-Marktes und lässt Konkurrenten verzweifelt aufholen."),
      ("004", "Während Amazon Web Services fast 30% des globalen Cloud-Marktes beherrscht, hält Alibaba nur 4% – ein Rückgang von 6% im Jahr 2020.")]),
    ("Wie stark reagierten die an der US-Börse notierten Alibaba-ADRs auf die Konferenz in Hangzhou?", "de", "conflict",
     "Der Artikel widerspricht sich leicht: zuerst „fast acht Prozent“, später ein „Kurssprung von über acht Prozent“.",
     [["8 %", "8%", "acht Prozent"]],
     [("000", "Die Börse reagierte begeistert: Die in den USA gehandelten ADRs kletterten um fast acht Prozent auf den höchsten Stand seit vier Jahren."),
      ("000", "Der jüngste Kurssprung von über acht Prozent zeigt: Anleger goutieren den Strategiewechsel.")]),
    # ------------------------------------------------------------------ not answered by the articles
    ("Wie heißt der Finanzvorstand von Alibaba?", "de", "unanswerable", "", [], []),
    ("How many employees does Alibaba have?", "en", "unanswerable", "", [], []),
    ("Was kostet die Nutzung von Qwen3-Max über die API pro Million Tokens?", "de", "unanswerable", "", [], []),
    ("What is the financial value of Alibaba's partnership deal with Nvidia?", "en", "unanswerable", "", [], []),
    ("Wann soll das Rechenzentrum in Mexiko in Betrieb gehen?", "de", "unanswerable", "", [], []),
    ("How much money did Alibaba put into Moonshot?", "en", "unanswerable", "", [], []),
    ("Wie hoch war Alibabas Nettogewinn im jüngsten Quartal?", "de", "unanswerable", "", [], []),
    ("How many parameters does Qwen3-Omni have?", "en", "unanswerable", "", [], []),
    ("Welche Banken haben die Wandelanleihe von Alibaba begleitet?", "de", "unanswerable", "", [], []),
    ("When will Alibaba open a data centre in Germany?", "en", "unanswerable", "", [], []),
    ("Wie hoch ist der Börsenwert von Alibaba?", "de", "unanswerable", "", [], []),
    ("What was Alibaba's closing price in Hong Kong dollars after the Apsara conference?", "en", "unanswerable", "", [], []),
    ("In welchem Fertigungsverfahren (wie viele Nanometer) wird der Zhenwu-Chip hergestellt?", "de", "unanswerable", "", [], []),
    ("Which Nvidia GPU model will equip Alibaba's new overseas data centres?", "en", "unanswerable", "", [], []),
    ("Wie viel zahlt Apple an Alibaba für die KI-Funktionen auf iPhones in China?", "de", "unanswerable", "", [], []),
    ("Who heads the Alibaba Cloud unit?", "en", "unanswerable", "", [], []),
    ("In welchem Jahr wurde Alibaba gegründet?", "de", "unanswerable", "", [], []),
    ("How long a context window does Qwen3-Max support?", "en", "unanswerable", "", [], []),
    ("Wie viele Alibaba-Aktien hat Ark Invest gekauft?", "de", "unanswerable", "", [], []),
    ("What dividend per share does Alibaba pay?", "en", "unanswerable", "", [], []),
    ("Was sagte Jack Ma bei dem Treffen mit Xi Jinping?", "de", "unanswerable", "", [], []),
    ("Wie viel investiert Tencent in KI-Infrastruktur?", "de", "unanswerable", "", [], []),
]

# Added for the classes the first set was thin on (issue "Right answers"): two-part questions,
# figures that differ between articles of different dates, English questions whose numbers need
# translating (German "Billion" = trillion), and unanswerable questions that sound answerable.
# They alternate between the halves on their own, so the splits of the items above stay fixed.
ADDED: list[tuple[str, str, str, str, list[list[str]], list[tuple[str, str]]]] = [
    ("Um wie viel Prozent stieg der Umsatz aus dem internationalen E-Commerce, und auf welchen Betrag?", "de", "number",
     "Um 32 Prozent auf Rmb37,8 Milliarden, auch dank AliExpress.",
     [["32 Prozent", "32 %", "32 percent"], ["37,8 Milliarden", "Rmb37,8", "37.8 billion"]],
     [("001", "Der Umsatz aus diesem Bereich stieg um 32 Prozent auf Rmb37,8 Milliarden, teilweise dank des Erfolgs von AliExpress, das zunehmend Ähnlichkeiten mit Temu aufweist.")]),
    ("Wann und wo fand die Apsara-Konferenz 2025 statt?", "de", "fact",
     "Vom 24. bis 26. September 2025 in Hangzhou.",
     [["24"], ["26"], ["Hangzhou"]],
     [("003", "Die Apsara-Konferenz, Flaggschiffveranstaltung des chinesischen E-Commerce-Konzerns Alibaba, bekräftigte vom 24. bis 26. September 2025 in Hangzhou den Eintritt des Unternehmens in die nächste Phase des globalen KI-Revolutionszyklus.")]),
    ("How much did Alibaba raise with its convertible bond, and at what premium to the share price?", "en", "number",
     "It raised 3.2 billion dollars; buyers paid a premium of 27.5% to 32.5% over the share price.",
     [["3.2 billion", "3,2 Milliarden"], ["27.5", "27,5"], ["32.5", "32,5"]],
     [("004", "Der Technologieriese sammelte beeindruckende 3,2 Milliarden Dollar durch ein spezielles Anleihengeschäft."),
      ("004", "Alibaba verkaufte diese Anleihen mit einem Aufschlag, was bedeutet, dass Einzelpersonen 27,5% bis 32,5% mehr als den aktuellen Aktienkurs zahlten.")]),
    ("How many parameters does Qwen3-Max have?", "en", "number",
     "More than one trillion parameters.",
     [["trillion", "einer Billion", "eine Billion"]],
     [("002", "Das Herzstück der Offensive bildet Qwen3-Max, das mit über einer Billion Parametern leistungsstärkste Sprachmodell des Unternehmens.")]),
    ("What cloud revenue growth rates do the articles report for Alibaba, and for which periods?", "en", "conflict",
     "13 percent (to Rmb31.7 billion) in the last quarter of 2024; 26 percent in the most recent quarter reported around the 2025 Apsara conference.",
     [["13"], ["26"]],
     [("001", "Besonders die Cloud-Sparte leistete mit einem Umsatzwachstum von 13 Prozent auf Rmb31,7 Milliarden gute Arbeit."),
      ("000", "Im jüngsten Quartal wuchs das Cloud-Geschäft um 26 Prozent und trug maßgeblich zu den starken Ergebnissen bei.")]),
    ("Wie viel gab Alibaba 2024 für Investitionen aus, und wie verhielt sich das zum Vorjahr?", "de", "number",
     "Rmb72,5 Milliarden (10 Milliarden Euro), dreimal so viel wie im Vorjahr.",
     [["72,5 Milliarden", "Rmb72,5", "10 Milliarden Euro"], ["dreimal", "drei Mal", "three times", "verdreifacht"]],
     [("001", "Im Jahr 2024 betrugen die Gesamtkapitalausgaben Rmb72,5 Milliarden (10 Milliarden Euro), dreimal so viel wie im Vorjahr.")]),
    ("By how much did Alibaba's shares rise in Hong Kong on that Friday, and what gain for 2025 does that add up to?", "en", "number",
     "12.6 percent on the day; more than 60 percent for 2025 in total.",
     [["12.6", "12,6"], ["60"]],
     [("001", "Anleger reagierten begeistert: Die Aktie stieg am Freitag an der Börse in Hongkong um 12,6 Prozent."),
      ("001", "Insgesamt ergibt sich damit ein Anstieg von über 60 Prozent für das Jahr 2025.")]),
    ("In welcher französischen Stadt baut Alibaba sein neues Rechenzentrum?", "de", "unanswerable", "", [], []),
    ("How many employees does Alibaba have?", "en", "unanswerable", "", [], []),
    ("Wie hoch war Alibabas Umsatz im Gesamtjahr 2024?", "de", "unanswerable", "", [], []),
    ("What operating margin did Alibaba Cloud report in its latest quarter?", "en", "unanswerable", "", [], []),
    ("Wer leitet die Chipsparte, die den Zhenwu-Chip entwickelt hat?", "de", "unanswerable", "", [], []),
]
# fmt: on


def build(articles: Path = ARTICLES) -> list[dict]:
    """The gold items with evidence offsets located in the cleaned article text."""
    docs = {d.source: d.text for d in load_corpus([articles]).documents}
    items = []
    for i, (question, lang, kind, reference, facts, evidence) in enumerate(ITEMS + ADDED, start=1):
        ev = []
        for prefix, quote in evidence:
            names = [n for n in docs if n.startswith(prefix)]
            if len(names) != 1:
                raise SystemExit(f"q{i:03d}: article prefix {prefix!r} matches {names}")
            text = docs[names[0]]
            if text.count(quote) != 1:
                raise SystemExit(f"q{i:03d}: quote found {text.count(quote)}x in {names[0]}: {quote[:60]!r}")
            start = text.index(quote)
            ev.append({"file": names[0], "start": start, "end": start + len(quote), "quote": quote})
        items.append({"id": f"q{i:03d}", "question": question, "language": lang, "kind": kind,
                      "answerable": kind != "unanswerable", "reference": reference,
                      "facts": facts, "evidence": ev,
                      "multi_part": len(question_parts(question)) > 1})
    assign_splits(items[:len(ITEMS)])
    assign_splits(items[len(ITEMS):])
    return items


def assign_splits(items: list[dict]) -> None:
    """``split``: "tune" or "test", fixed in the file. Stratified by the article of the first
    evidence span (none for unanswerable questions), kind and language: the questions sorted by
    these alternate between the halves, so both see every article, kind and language alike. Choices are
    made on "tune"; "test" is reported and guarded in CI."""
    def key(it: dict) -> tuple[str, str, str, str]:
        return ((it["evidence"][0]["file"] if it["evidence"] else "-"), it["kind"],
                it["language"], it["id"])

    for n, it in enumerate(sorted(items, key=key)):  # alternate along the sorted order
        it["split"] = "tune" if n % 2 == 0 else "test"


def locate(text: str, quote: str) -> tuple[int, int, int]:
    """(start, end, count) of ``quote`` in ``text`` whatever the whitespace (an extractor may
    put a space at a link's edge, "xyz @example.org", or a line break inside a sentence);
    (-1, -1, 0) when absent.

    >>> locate("Der Umsatz  stieg\\num 3 %.", "Umsatz stieg um 3 %.")
    (4, 25, 1)
    >>> locate("mail an xyz@example.org.", "an xyz @example.org .")
    (5, 24, 1)
    >>> locate("abc", "xyz")
    (-1, -1, 0)
    """
    pattern = re.compile(r"\s*".join(re.escape(c) for c in "".join(quote.split())))
    hits = list(pattern.finditer(text))
    if not hits:
        return -1, -1, 0
    return hits[0].start(), hits[0].end(), len(hits)


def build_corpus(name: str) -> list[dict]:
    """``eval/corpora/NAME/questions.jsonl`` with evidence offsets in qa's extracted text."""
    folder = ROOT / "eval" / "corpora" / name
    docs = {d.source: d.text for d in load_corpus([folder / "docs"]).documents}
    items = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        ev = []
        for e in q.get("evidence") or []:
            start, end, n = locate(docs.get(e["file"], ""), e["quote"])
            if n == 0:
                why = "not read by qa" if e["file"] not in docs else "not in qa's extracted text"
                print(f"{name}/{q['id']}: {e['file']}: quote {why}: {e['quote'][:70]!r}",
                      file=sys.stderr)
            ev.append({"file": e["file"], "start": start, "end": end, "quote": e["quote"]})
        answerable = bool(q.get("answerable", q.get("kind") != "unanswerable"))
        items.append({"id": q["id"], "question": q["question"], "language": q["language"],
                      "kind": q["kind"], "answerable": answerable,
                      "reference": q.get("reference", ""), "facts": q.get("facts") or [],
                      "evidence": ev, "multi_part": len(question_parts(q["question"])) > 1})
    assign_splits(items)
    return items


def render(items: list[dict]) -> str:
    return "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)


def main(argv: list[str]) -> int:
    if "--corpus" in argv:
        name = argv[argv.index("--corpus") + 1]
        return write(render(build_corpus(name)), ROOT / "eval" / "corpora" / name / "gold.jsonl",
                     "--check" in argv)
    return write(render(build()), OUT, "--check" in argv)


def write(text: str, out: Path, check: bool) -> int:
    if check:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print(f"{out.name} is up to date" if same else f"{out} differs: rerun eval/build_gold.py")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)} ({text.count(chr(10))} questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
