"""Error messages in the run's language (public names).

The library raises its errors in English (they are also read by programs and logs). At the
command line, :func:`translate` turns the message of an error into French when the run is in
French (the default, or ``--lang fr``). One table of patterns, tried in order; the first that
matches the whole message wins. A message with no pattern stays in English, so nothing is lost.

Each pattern names its parts; the French template reuses them, and a part that is itself a
message (``rest``) is translated in turn.
"""

from __future__ import annotations

import functools
import re

from matcher.core import suggest
from matcher.normalize.problems import problem_messages

__all__ = ["PATTERNS", "USAGE_PATTERNS", "lang_in_args", "translate", "translate_usage", "usage_hint"]

_P = r"(?P<path>.+?)"

#: (English pattern, French template), tried in order.
PATTERNS: list[tuple[str, str]] = [
    (rf"{_P}: file not found", "{path} : fichier introuvable"),
    (rf"{_P}: the file is empty", "{path} : le fichier est vide"),
    (rf"{_P}: the sheet is empty", "{path} : la feuille est vide"),
    (rf"{_P}: not a text table \(binary file\?\)", "{path} : ce n'est pas un tableau texte (fichier binaire ?)"),
    (rf"{_P}: is a folder, not a file", "{path} : c'est un dossier, pas un fichier"),
    (rf"{_P}: no header line", "{path} : aucune ligne d'en-tête"),
    (rf"{_P}: mapping file not found", "{path} : fichier de correspondance introuvable"),
    (rf"{_P}: no sheet (?P<sheet>.+); sheets are: (?P<names>.+)",
     "{path} : pas de feuille {sheet} ; les feuilles sont : {names}"),
    (rf"{_P}: no supported file in this folder \(expected (?P<formats>.+)\)",
     "{path} : aucun fichier pris en charge dans ce dossier (attendu : {formats})"),
    (rf"{_P}: cannot read the file \((?P<why>.+)\)", "{path} : impossible de lire le fichier ({why})"),
    (rf"{_P}: cannot decode the file as (?P<enc>\S+) \((?P<why>.+)\)",
     "{path} : impossible de décoder le fichier en {enc} ({why})"),
    (rf"{_P}: invalid JSON at line (?P<line>\d+), column (?P<col>\d+): (?P<why>.+)",
     "{path} : JSON invalide ligne {line}, colonne {col} : {why}"),
    (rf"{_P}: invalid YAML(?P<rest>.*)", "{path} : YAML invalide{rest}"),
    (rf"{_P}: more than (?P<num>[\d,]+) (?P<label>.+?)(?P<seen> \([\d,]+\))?; this is a safety limit, "
     r"raise it with --limit (?P<name>\w+)=N(?P<tail>.*)",
     "{path} : plus de {num} {label}{seen} ; c'est une limite de sécurité, relevez-la avec "
     "--limit {name}=N{tail}"),
    (rf"{_P}: not a table: expected a list of records or an object, got (?P<type>.+)",
     "{path} : ce n'est pas un tableau : une liste d'enregistrements ou un objet est attendu, reçu {type}"),
    (rf"{_P}: several lists of records \((?P<names>.*)\); give one per file",
     "{path} : plusieurs listes d'enregistrements ({names}) ; donnez-en une par fichier"),
    (rf"{_P}: invalid JSON Lines \((?P<why>.*)\)", "{path} : JSON Lines invalide ({why})"),
    (rf"{_P}: cannot read as Parquet \((?P<why>.*)\)", "{path} : impossible de lire le fichier en Parquet ({why})"),
    (rf"{_P}: cannot open as XLSX \((?P<why>.*)\)", "{path} : impossible d'ouvrir le fichier en XLSX ({why})"),
    (rf"{_P}: cannot read the XLSX sheet \((?P<why>.*)\)", "{path} : impossible de lire la feuille XLSX ({why})"),
    (rf"{_P}: cannot read as CSV near line (?P<line>\d+) \((?P<why>.*)\)",
     "{path} : impossible de lire le fichier en CSV vers la ligne {line} ({why})"),
    (rf"{_P}: not a text table \(binary file\? it looks like a ZIP or XLSX archive\)",
     "{path} : ce n'est pas un tableau texte (fichier binaire ? il ressemble à une archive ZIP ou XLSX)"),
    (rf"{_P}: not a valid gzip file \(Compressed file ended before the end-of-stream marker was reached\)",
     "{path} : fichier gzip invalide (le fichier compressé s'arrête avant sa fin)"),
    (rf"{_P}: not a valid gzip file \((?P<why>.*)\)", "{path} : fichier gzip invalide ({why})"),
    (rf"{_P}: unsupported file type '(?P<ext>.*?)'; expected (?P<formats>.+?)(?: \((?P<hint>save it as .*)\))?",
     "{path} : type de fichier non pris en charge « {ext} » ; attendu : {formats}{hint}"),
    (rf"{_P}: cannot read the mapping file \((?P<why>.+)\)",
     "{path} : impossible de lire le fichier de correspondance ({why})"),
    (rf"{_P}: a mapping file holds 'field: Column' lines",
     "{path} : un fichier de correspondance contient des lignes « champ: Colonne »"),
    (rf"{_P}: the column for (?P<field>\S+) must be a column name, got (?P<got>.*)",
     "{path} : la colonne de {field} doit être un nom de colonne, reçu {got}"),
    (r"no usable (?P<what>\S+) in '(?P<path>.*)' \((?P<n>\d+) row\(s\) rejected\)",
     "aucun {what} utilisable dans « {path} » ({n} ligne(s) rejetée(s))"),
    (r"'(?P<path>.*)' is an input of this command; choose another output file \(the input would be overwritten\)",
     "« {path} » est une entrée de cette commande ; choisissez un autre fichier de sortie "
     "(l'entrée serait écrasée)"),
    (r"'(?P<path>.*)' is an input of this command; choose another output folder",
     "« {path} » est une entrée de cette commande ; choisissez un autre dossier de sortie"),
    (r"folder '(?P<path>.*)' does not exist", "le dossier « {path} » n'existe pas"),
    (r"'(?P<path>.*)' is a folder; give a file name", "« {path} » est un dossier ; donnez un nom de fichier"),
    (r"cannot write '(?P<path>.*)': '(?P<other>.*)' is a file, not a folder",
     "impossible d'écrire « {path} » : « {other} » est un fichier, pas un dossier"),
    (r"cannot write in folder '(?P<path>.*)' \(permission denied\)",
     "impossible d'écrire dans le dossier « {path} » (permission refusée)"),
    (r"cannot write '(?P<path>.*?)': the file name is too long \(at most (?P<n>\d+) bytes\)",
     "impossible d'écrire « {path} » : le nom de fichier est trop long ({n} octets au plus)"),
    (r"cannot write '(?P<path>.*)' \((?P<why>.*)\)", "impossible d'écrire « {path} » ({why})"),
    (r"reading '(?P<path>.*)' stopped: its process ended with code (?P<code>-?\d+)",
     "la lecture de « {path} » s'est arrêtée : son processus a fini avec le code {code}"),
    (r"cannot tell the output format of '(?P<path>.*)' \(known extensions: (?P<known>.*)\)",
     "format de sortie inconnu pour « {path} » (extensions connues : {known})"),
    (r"unknown output format '(?P<fmt>.*)'", "format de sortie inconnu « {fmt} »"),
    (r"--format xlsx needs -o FILE\.xlsx", "--format xlsx demande -o FICHIER.xlsx"),
    (r"--map expects field=Column, got '(?P<got>.*)'", "--map attend champ=Colonne, reçu « {got} »"),
    (r"--weight expects criterion=number, got '(?P<got>.*)'", "--weight attend critère=nombre, reçu « {got} »"),
    (r"--date: invalid date: '(?P<got>.*)'(?P<rest>.*)", "--date : date invalide : « {got} »{rest}"),
    (r"--limit expects NAME=N with N > 0 and NAME one of (?P<names>.*?), got (?P<got>.*)",
     "--limit attend NOM=N avec N > 0 et NOM parmi {names}, reçu {got}"),
    (r"no column maps to (?P<field>\S+)(?P<rest>.*)", "aucune colonne ne correspond à {field}{rest}"),
    (r"cannot map (?P<field>\S+) to column '(?P<col>.*?)': no such column; available columns: (?P<cols>.*)",
     "impossible d'associer {field} à la colonne « {col} » : cette colonne n'existe pas ; "
     "colonnes disponibles : {cols}"),
    (r"bad weights:(?P<lines>.*)", "poids invalides :{lines}"),
    # the lines of "bad weights:" (engine/scoring.resolve_weights), one problem each
    (r"(?P<where>weights|funder '.*?'(?: call '.*?')? weights): unknown criterion '(?P<key>.*?)'"
     r"(?: \(did you mean (?P<close>.*)\?\))?; criteria: (?P<names>.*)",
     "{where} : critère inconnu « {key} »{close} ; critères : {names}"),
    (r"(?P<where>weights|funder '.*?'(?: call '.*?')? weights): weight of '(?P<key>.*)' is not a number: (?P<got>.*)",
     "{where} : le poids de « {key} » n'est pas un nombre : {got}"),
    (r"(?P<where>weights|funder '.*?'(?: call '.*?')? weights): weight of '(?P<key>.*)' must be a finite number "
     r">= 0, not (?P<got>.*)",
     "{where} : le poids de « {key} » doit être un nombre fini ≥ 0, pas {got}"),
    (r"(?P<where>weights|funder '.*?'(?: call '.*?')? weights): every weight is zero",
     "{where} : tous les poids sont nuls"),
    (r"\.\.\. and (?P<n>\d+) more", "… et {n} de plus"),
    (r"--map gives two columns for (?P<field>\S+): '(?P<a>.*)' and '(?P<b>.*)'",
     "--map donne deux colonnes pour {field} : « {a} » et « {b} »"),
    (r"column '(?P<col>.*)' is mapped to two fields: (?P<a>\S+) and (?P<b>\S+)",
     "la colonne « {col} » est associée à deux champs : {a} et {b}"),
    (r"territory: the list of place columns is empty", "territory : la liste des colonnes de lieu est vide"),
    (r"repeated column names: (?P<names>.*)", "noms de colonne répétés : {names}"),
    (r"unknown limit (?P<names>.*); known limits: (?P<known>.*)",
     "limite inconnue {names} ; limites connues : {known}"),
    (r"--date: unreadable date: '(?P<got>.*)'", "--date : date illisible : « {got} »"),
    (r"--date: (?P<reason>.+)", "--date : {reason}"),
    (r"--weights-file (?P<path>.+?): unreadable \((?P<why>.*)\)", "--weights-file {path} : illisible ({why})"),
    (r"--weights-file (?P<path>.+?): expected a mapping criterion: weight",
     "--weights-file {path} : une table « critère: poids » est attendue"),
    (r"--weights-file (?P<path>.+?): weight of '(?P<name>.*)' is not a number: (?P<got>.*)",
     "--weights-file {path} : le poids de « {name} » n'est pas un nombre : {got}"),
    # the matcher's inputs (a file of projects or funders that loads but cannot be ranked)
    (r"duplicate project ids: (?P<ids>.*)", "identifiants de projet en double : {ids}"),
    (r"duplicate funder rows \(funder_id, call_id\): (?P<ids>.*)",
     "lignes de financeur en double (funder_id, call_id) : {ids}"),
    (r"projects have no project_id column", "les projets n'ont pas de colonne project_id"),
    (r"funders have no funder_id column", "les financeurs n'ont pas de colonne funder_id"),
    (r"every project needs a project_id", "chaque projet doit avoir un project_id"),
    (r"every funder row needs a funder_id", "chaque ligne de financeur doit avoir un funder_id"),
    (r"funder '(?P<id>.*)' has no call; unknown call id '(?P<call>.*)'",
     "le financeur « {id} » n'a pas d'appel ; identifiant d'appel inconnu « {call} »"),
    (r"too many rows to rank at once \((?P<num>[\d,]+) >= (?P<num2>[\d,]+)\)",
     "trop de lignes à classer d'un coup ({num} ≥ {num2})"),
    (r"cannot resume in '(?P<path>.*)': the earlier run had other inputs or parameters "
     r"\(run without --resume to start over\)",
     "impossible de reprendre dans « {path} » : le calcul précédent avait d'autres entrées ou paramètres "
     "(relancez sans --resume pour repartir de zéro)"),
    # vocabularies (a value of a user's file or option that no vocabulary knows)
    (r"unknown vocabulary '(?P<value>.*)'; known: (?P<names>.*)",
     "vocabulaire inconnu « {value} » ; valeurs connues : {names}"),
    (r"unknown legal form or group: '(?P<value>.*)'", "forme juridique ou groupe inconnu : « {value} »"),
    (r"unknown legal form or group: (?P<value>.*)", "forme juridique ou groupe inconnu : {value}"),
    (r"unknown (?P<vocab>\w+) id: '(?P<value>.*)'", "identifiant inconnu du vocabulaire {vocab} : « {value} »"),
    (r"unknown (?P<vocab>\w+) id: (?P<value>.*)", "identifiant inconnu du vocabulaire {vocab} : {value}"),
    # history, evaluation and learning
    (r"the chance of award needs granted and refused decisions over at least three years "
     r"\(one to look back on, one to learn, one to calibrate\)",
     "la chance d'obtention demande des décisions accordées et refusées sur au moins trois années "
     "(une pour le recul, une pour apprendre, une pour calibrer)"),
    (r"learning the ranking weights needs at least three years of decisions "
     r"\(two to fit the matcher on, the latest to learn from\)",
     "apprendre les poids du classement demande des décisions sur au moins trois années "
     "(deux pour ajuster le moteur, la dernière pour apprendre)"),
    (r"no granted application in (?P<year>\S+) to learn the ranking weights from",
     "aucune demande accordée en {year} pour apprendre les poids du classement"),
    (r"evaluate needs history rows with funder_id and year \(map them with --map\)",
     "evaluate demande des lignes d'historique avec funder_id et year (associez-les avec --map)"),
    (r"no history row before (?P<year>\S+): nothing to learn from",
     "aucune ligne d'historique avant {year} : rien à apprendre"),
    (r"no granted row in (?P<year>\S+) or after: nothing to test",
     "aucune ligne accordée en {year} ou après : rien à tester"),
    (r"no decided row in (?P<year>\S+) or after: nothing to test the chance of award on",
     "aucune ligne décidée en {year} ou après : rien pour tester la chance d'obtention"),
    (r"--top must be at least (?P<n>\d+) to compute the metrics",
     "--top doit valoir au moins {n} pour calculer les mesures"),
    (r"learn-weights needs decisions \(granted and refused\) of at least two years",
     "learn-weights demande des décisions (accordées et refusées) sur au moins deux années"),
    (r"learn-weights needs granted and refused decisions in (?P<year>\S+) "
     r"\(found (?P<n>\d+) decision\(s\), (?P<g>\d+) granted\)",
     "learn-weights demande des décisions accordées et refusées en {year} ({n} décision(s) trouvée(s), "
     "dont {g} accordée(s))"),
    (r"no decision of funder '(?P<id>.*)' in the history", "aucune décision du financeur « {id} » dans l'historique"),
    (r"workspace (?P<path>.*) has no grant history and no granted or refused decision yet",
     "l'espace de travail {path} n'a encore ni historique d'attributions ni décision accordée ou refusée"),
    (r"learn-funders writes \.csv, \.json, \.jsonl or \.xlsx \(parquet cannot be read back\)",
     "learn-funders écrit du .csv, .json, .jsonl ou .xlsx (le Parquet ne peut pas être relu)"),
    # batch
    (r"'(?P<path>.*)' exists and is not a folder", "« {path} » existe et n'est pas un dossier"),
    (r"cannot create '(?P<path>.*)': '(?P<other>.*)' is a file, not a folder",
     "impossible de créer « {path} » : « {other} » est un fichier, pas un dossier"),
    (r"--engine dask needs Dask: pip install 'coopmatch\[dask\]'",
     "--engine dask demande Dask : pip install 'coopmatch[dask]'"),
    (r"--resume and --engine dask work with --format csv or parquet, without --workspace",
     "--resume et --engine dask fonctionnent avec --format csv ou parquet, sans --workspace"),
    (r"--from aides-territoires applies to funders only", "--from aides-territoires ne s'applique qu'aux financeurs"),
    (r"--format table prints to the terminal; use (?P<fmts>.*) with -o",
     "--format table affiche dans le terminal ; utilisez {fmts} avec -o"),
    (r"--format (?P<fmt>\S+) is not available for this command",
     "--format {fmt} n'est pas disponible pour cette commande"),
    # workspaces
    (r"no workspace at '(?P<path>.*)'; create it with '(?P<cmd>.*)'",
     "pas d'espace de travail à « {path} » ; créez-le avec « {cmd} »"),
    (r"with --url, WS is the name \(a file\) bound to the URL", "avec --url, WS est le nom (un fichier) lié à l'URL"),
    (r"'(?P<path>.*)' already exists", "« {path} » existe déjà"),
    (r"unknown kind '(?P<value>.*)'; expected one of (?P<names>.*)", "type inconnu « {value} » ; attendu : {names}"),
    (r"no such file or folder: '(?P<path>.*)'", "fichier ou dossier introuvable : « {path} »"),
    (r"the decision file lacks the column\(s\) (?P<cols>.*) \(expected: (?P<names>.*)\)",
     "il manque au fichier de décisions la ou les colonnes {cols} (attendues : {names})"),
    (r"(?P<bad>\d+) row\(s\) of (?P<n>\d+) refused in '(?P<path>.*)': nothing was recorded",
     "{bad} ligne(s) sur {n} refusée(s) dans « {path} » : rien n'a été enregistré"),
    (r"no run (?P<run>\S+) in this workspace", "pas de calcul {run} dans cet espace de travail"),
    (r"give both --run A and --run B, or neither \(the last two runs of the same command and target\)",
     "donnez --run A et --run B, ou aucun des deux (les deux derniers calculs de la même commande et cible)"),
    (r"--run A --run B name the runs: drop --command and --target",
     "--run A --run B désignent les calculs : retirez --command et --target"),
    (r"this workspace has no run yet: rank with --workspace first",
     "cet espace de travail n'a encore aucun calcul : classez d'abord avec --workspace"),
    (r"no run of (?P<asked>.*) in this workspace \(runs: (?P<known>.*)\)",
     "aucun calcul de {asked} dans cet espace de travail (calculs : {known})"),
    (r"only one run of (?P<what>.*): nothing to compare \(run it again after an import, or give --run A --run B\)",
     "un seul calcul de {what} : rien à comparer (relancez-le après un import, ou donnez --run A --run B)"),
    (r"unknown field '(?P<value>.*)' \(expected one of (?P<names>.*)\)",
     "champ inconnu « {value} » (attendu : {names})"),
    (r"unknown 360Giving value '(?P<value>.*)' \(expected one of (?P<names>.*)\)",
     "valeur 360Giving inconnue « {value} » (attendu : {names})"),
    (r"(?P<name>\S+) must be one of (?P<names>.*), not '(?P<value>.*)'",
     "{name} doit être l'une des valeurs {names}, pas « {value} »"),
    (r"(?P<name>\S+): '(?P<value>.*)' does not match (?P<pattern>.*)",
     "{name} : « {value} » ne correspond pas au motif {pattern}"),
    (r"'(?P<path>.*)' is a folder, not a workspace", "« {path} » est un dossier, pas un espace de travail"),
    (r"'(?P<path>.*)' is neither an SQLite workspace nor a workspace pointer \(url: …\)",
     "« {path} » n'est ni un espace de travail SQLite ni un pointeur d'espace de travail (url: …)"),
    (r"unsupported workspace URL '(?P<url>.*)' \(use an SQLite file path or postgresql://…\)",
     "URL d'espace de travail non prise en charge « {url} » (donnez un chemin de fichier SQLite ou postgresql://…)"),
    (r"PostgreSQL workspaces need the 'postgres' extra \(pip install 'coopmatch\[postgres\]'\): (?P<why>.*)",
     "les espaces de travail PostgreSQL demandent l'extra « postgres » (pip install 'coopmatch[postgres]') : {why}"),
    (r"this database has tables but no coopmatch schema version: not a workspace",
     "cette base a des tables mais pas de version de schéma coopmatch : ce n'est pas un espace de travail"),
    (r"this database is not a workspace yet; create it with '(?P<cmd>.*)'",
     "cette base n'est pas encore un espace de travail ; créez-le avec « {cmd} »"),
    (r"this workspace has schema version (?P<rev>\S+), newer than this coopmatch knows \(up to (?P<known>\S+)\): "
     r"upgrade coopmatch to open it",
     "cet espace de travail a la version de schéma {rev}, plus récente que celles que connaît ce coopmatch "
     "(jusqu'à {known}) : mettez coopmatch à jour pour l'ouvrir"),
    (r"this workspace has schema version (?P<rev>\S+) and needs migrating to (?P<known>\S+)",
     "cet espace de travail a la version de schéma {rev} et doit être migré vers {known}"),
    (r"(?P<n>\d+) project id\(s\) of --project-ids not in workspace (?P<path>.*?): (?P<shown>.*)",
     "{n} identifiant(s) de projet de --project-ids absent(s) de l'espace de travail {path} : {shown}"),
    (r"(?P<n>\d+) project id\(s\) of --project-ids not in (?P<path>.*?): (?P<shown>.*)",
     "{n} identifiant(s) de projet de --project-ids absent(s) de {path} : {shown}"),
    (r"workspace (?P<path>.*) has no (?P<what>project|funder) yet: (?P<cmd>.*)",
     "l'espace de travail {path} n'a encore aucun {what} : {cmd}"),
    (r"'(?P<path>.*)' has no project_id column \(or give a \.txt file, one id per line\)",
     "« {path} » n'a pas de colonne project_id (ou donnez un fichier .txt, un identifiant par ligne)"),
    (r"no project id in '(?P<path>.*)'", "aucun identifiant de projet dans « {path} »"),
    # the accounts of `coopmatch serve` (`workspace user …`) and serve's refusal to start
    (r"a user name is 1 to 64 of a-z 0-9 \. _ - @, got '(?P<got>.*)'",
     "un nom d'utilisateur compte 1 à 64 caractères parmi a-z 0-9 . _ - @, reçu « {got} »"),
    (r"unknown role '(?P<value>.*)'; expected one of (?P<names>.*)", "rôle inconnu « {value} » ; attendu : {names}"),
    (r"a password has at least (?P<n>\d+) characters", "un mot de passe compte au moins {n} caractères"),
    (r"user '(?P<name>.*)' already exists", "l'utilisateur « {name} » existe déjà"),
    (r"no user '(?P<name>.*)' in this workspace", "pas d'utilisateur « {name} » dans cet espace de travail"),
    (r"refusing to serve (?P<ws>.+?) on (?P<host>\S+): it has no accounts, and only a loopback address may run "
     r"without them\. Add one with '(?P<cmd>.*)', or serve on 127\.0\.0\.1",
     "refus de servir {ws} sur {host} : il n'a aucun compte, et seule une adresse locale (loopback) peut s'en "
     "passer. Ajoutez-en un avec « {cmd} », ou servez sur 127.0.0.1"),
    # usage mistakes of coopmatch's own commands (exit 2)
    (r"(?P<opt>--map|--mapping-file) is read by validate and normalize, not by this command: run "
     r"'coopmatch normalize projects FILE --map FIELD=COLUMN -o canon\.csv' first, then rank canon\.csv",
     "{opt} est lu par validate et normalize, pas par cette commande : lancez d'abord "
     "« coopmatch normalize projects FICHIER --map CHAMP=COLONNE -o canon.csv », puis classez canon.csv"),
    (r"--file takes the decisions from the file: no --project/--funder/--status",
     "--file prend les décisions dans le fichier : pas de --project/--funder/--status"),
    (r"missing (?P<names>.*) \(or give (?P<alt>--file|--workspace WS)\)", "il manque {names} (ou donnez {alt})"),
    (r"give both --project and --funder for a trail, or neither",
     "donnez --project et --funder pour un historique, ou aucun des deux"),
    (r"give --run twice \(A then B\), or not at all", "donnez --run deux fois (A puis B), ou pas du tout"),
    (r"cannot tell the format of '(?P<path>.*)': give --format (?P<fmts>.*)",
     "format inconnu pour « {path} » : donnez --format {fmts}"),
    (r"--value expects FIELD=VALUE, got '(?P<got>.*)'", "--value attend CHAMP=VALEUR, reçu « {got} »"),
    (r"--workspace reads the profiles from the workspace: drop (?P<names>.*)",
     "--workspace lit les profils dans l'espace de travail : retirez {names}"),
    (r"--reliability needs --decisions", "--reliability demande --decisions"),
    (r"give a HISTORY file or --workspace WS \(one of them\)",
     "donnez un fichier HISTORY ou --workspace WS (l'un des deux)"),
    (r"--map and --refused-when-zero apply when the history is imported, not here",
     "--map et --refused-when-zero s'appliquent à l'import de l'historique, pas ici"),
]

#: Click's own usage messages (exit 2), English regex -> French template; ``inner`` is translated in turn.
USAGE_PATTERNS: list[tuple[str, str]] = [
    (r"Missing option (?P<p>.+?)\.(?P<rest>.*)", "Option {p} manquante.{rest}"),
    (r"Missing argument (?P<p>.+?)\.(?P<rest>.*)", "Argument {p} manquant.{rest}"),
    (r"Missing parameter (?P<p>.+?)\.(?P<rest>.*)", "Paramètre {p} manquant.{rest}"),
    (r"Invalid value for (?P<p>.+?): (?P<inner>.*)", "Valeur invalide pour {p} : {inner}"),
    (r"No such option (?P<o>'.*?')\. \(Did you mean one of: (?P<names>.*)\?\)",
     "Option inconnue {o}. (Vouliez-vous dire l'une de : {names} ?)"),
    (r"No such option (?P<o>'.*?')\. \(Did you mean (?P<names>.*)\?\)",
     "Option inconnue {o}. (Vouliez-vous dire {names} ?)"),
    (r"No such option (?P<o>'.*?')\. Did you mean (?P<names>.*)\?", "Option inconnue {o}. Vouliez-vous dire {names} ?"),
    (r"No such option (?P<o>'.*?')\. \(Possible options: (?P<names>.*)\)",
     "Option inconnue {o}. (Options possibles : {names})"),
    (r"No such option (?P<o>'.*?')\.", "Option inconnue {o}."),
    (r"No such option: (?P<o>.*)", "Option inconnue : {o}"),
    (r"Option (?P<o>'.*?') requires an argument\.", "L'option {o} attend une valeur."),
    (r"Option (?P<o>'.*?') requires (?P<n>\d+) arguments\.", "L'option {o} attend {n} valeurs."),
    (r"Option (?P<o>'.*?') does not take a value\.", "L'option {o} ne prend pas de valeur."),
    (r"Got unexpected extra arguments? \((?P<a>.*)\)", "Argument(s) en trop : {a}"),
    (r"No such command (?P<c>'.*?')\.", "Commande inconnue {c}."),
    (r"Missing command\.", "Commande manquante."),
    # the messages of Click's parameter types (after "Invalid value for …: ")
    (r"(?P<v>.+?) is not a valid integer range\.", "{v} n'est pas un nombre entier valide."),
    (r"(?P<v>.+?) is not a valid (?:integer|float|float range)\.", "{v} n'est pas un nombre valide."),
    (r"(?P<v>.+?) is not in the range (?P<r>.*)\.", "{v} n'est pas dans l'intervalle {r}."),
    (r"(?P<v>.+?) is not one of (?P<c>.*)\.", "{v} n'est pas l'une des valeurs {c}."),
    (r"(?P<v>.+?) is not a valid boolean\. Recognized values: (?P<s>.*)",
     "{v} n'est pas un booléen valide. Valeurs reconnues : {s}"),
    (r"(?:File|Directory|Path) (?P<f>'.*') does not exist\.", "Le chemin {f} n'existe pas."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is a file\.", "{f} est un fichier."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is a directory\.", "{f} est un dossier."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is not readable\.", "{f} n'est pas lisible."),
    (r"(?:File|Directory|Path) (?P<f>'.*') is not writable\.", "{f} n'est pas accessible en écriture."),
]

#: The hints of :func:`matcher.core.suggest.unknown_message` in English, read back (most specific first).
_HINTS = [(kind, re.compile(p, re.DOTALL)) for kind, p in (
    ("close", r"; did you mean (?P<names>.*)\?"), ("none", r"; there is none"),
    ("some", r"; known: (?P<names>.*), … \((?P<n>[\d,]+) in all\)"), ("all", r"; known: (?P<names>.*)"),
    ("count", r" \((?P<n>[\d,]+) known\)"), ("", r""))]
_UNKNOWN = re.compile(r"unknown (?P<what>call id of funder '.*?'|[^']+?) '(?P<value>.*?)'(?P<hint>(?:;| \().*)?",
                      re.DOTALL)

_WORDS = {"project": "projet", "funder": "financeur", "history": "historique", "projects": "projets",
          "funders": "financeurs"}

#: Parts that are fixed English phrases of the library, by part name (``label``: ``io.limits.LABELS``).
_PART_FR = {
    "label": {"bytes": "octets", "cells": "cellules", "columns": "colonnes",
              "characters in one cell": "caractères dans une cellule", "levels of nesting": "niveaux d'imbrication",
              "YAML aliases": "alias YAML"},
    "tail": {" if the file is genuine": " si le fichier est authentique"},
    "hint": {"save it as .xlsx": " (enregistrez-le en .xlsx)",
             "save it as .xlsx or .csv": " (enregistrez-le en .xlsx ou .csv)"},
}
#: Parts that are numbers written with ``{:,}``: French groups digits with a narrow no-break space.
_NUMBERS = ("num", "num2", "seen")

_COMPILED = [(re.compile(p, re.DOTALL), t) for p, t in PATTERNS]
_USAGE = [(re.compile(p, re.DOTALL), t) for p, t in USAGE_PATTERNS]


def _unknown_fr(message: str) -> str | None:
    """An :func:`~matcher.core.suggest.unknown_message` read back and written in French (None: not one)."""
    found = _UNKNOWN.fullmatch(message)
    if not found:
        return None
    name = suggest.what_label(found["what"], "fr")
    if name.startswith("unknown "):
        return None
    for kind, pattern in _HINTS:
        hint = pattern.fullmatch(found["hint"] or "")
        if hint:
            parts = {"names": "", "n": "", **{k: v or "" for k, v in hint.groupdict().items()}}
            parts["n"] = parts["n"].replace(",", "\u202f")
            tail = suggest.HINTS[kind]["fr"].format(**parts) if kind else ""
            return f"{name} {suggest.quoted(found['value'], 'fr')}{tail}"
    return None


def translate(message: str, lang: str) -> str:
    """``message`` in ``lang``: French when a pattern knows it, else unchanged."""
    if lang != "fr":
        return message
    unknown = _unknown_fr(message)
    if unknown is not None:
        return unknown
    for pattern, template in _COMPILED:
        found = pattern.fullmatch(message)
        if found:
            parts = {k: v or "" for k, v in found.groupdict().items()}
            if "what" in parts:
                parts["what"] = _WORDS.get(parts["what"], parts["what"])
            if "rest" in parts and parts["rest"].startswith(": "):
                parts["rest"] = " : " + translate(parts["rest"][2:], lang)
            for name, table in _PART_FR.items():
                if parts.get(name):
                    parts[name] = table.get(parts[name], f" ({parts[name]})" if name == "hint" else parts[name])
            for name in _NUMBERS:
                if parts.get(name):
                    parts[name] = parts[name].replace(",", "\u202f")
            if parts.get("formats"):
                parts["formats"] = parts["formats"].replace(", optionally gzipped (.gz)",
                                                            ", éventuellement en gzip (.gz)")
            if parts.get("lines"):
                parts["lines"] = "\n  ".join(translate(line, lang) if line else line
                                             for line in parts["lines"].split("\n  "))
            if parts.get("close"):
                parts["close"] = f" (vouliez-vous dire {parts['close']} ?)"
            if parts.get("where"):
                parts["where"] = _where_fr(parts["where"])
            if parts.get("reason"):
                parts["reason"] = _problem_fr(parts["reason"]) or parts["reason"]
            return template.format(**parts)
    return _problem_fr(message) or message


_WHERE = re.compile(r"funder '(?P<funder>.*?)'(?: call '(?P<call>.*?)')? weights")


def _where_fr(where: str) -> str:
    """``weights`` / ``funder 'F' call 'C' weights``, where a weight problem was found, in French."""
    found = _WHERE.fullmatch(where)
    if where == "weights":
        return "poids"
    if not found:
        return where
    call = f", appel « {found['call']} »" if found["call"] is not None else ""
    return f"poids du financeur « {found['funder']} »{call}"


@functools.cache
def _problem_patterns() -> list[tuple[re.Pattern, str]]:
    """The English texts of ``matcher/data/problems.yaml`` as patterns, with their French templates."""
    out = []
    for texts in problem_messages().values():
        names = re.findall(r"\{(\w+)\}", texts["en"])
        if len(names) != len(set(names)) or len(re.sub(r"\{\w+\}", "", texts["en"])) < 10:
            continue  # a placeholder used twice, or too little fixed text to tell the problem: not read back
        pieces = re.split(r"\{(\w+)\}", texts["en"])
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(pieces))
        out.append((re.compile(regex, re.DOTALL), texts["fr"]))
    return out


def _problem_fr(text: str) -> str | None:
    """A problem text (a reject reason, ``ParseError.reason_en``) in French; None when it is not one."""
    for pattern, template in _problem_patterns():
        found = pattern.fullmatch(text)
        if found:
            try:
                return template.format(**found.groupdict())
            except (KeyError, IndexError, ValueError):
                return None
    return None


def translate_usage(message: str, lang: str) -> str:
    """A Click usage message (missing option, bad value, no such option…) in ``lang``; else unchanged."""
    if lang != "fr":
        return message
    for pattern, template in _USAGE:
        found = pattern.fullmatch(message)
        if found:
            parts = {k: v or "" for k, v in found.groupdict().items()}
            if parts.get("inner"):
                parts["inner"] = translate_usage(parts["inner"], lang)
            if parts.get("rest"):
                parts["rest"] = parts["rest"].replace("Choose from:", "Choisir parmi :")
            return template.format(**parts)
    return translate(message, lang)


def usage_hint(command_path: str, option: str, lang: str) -> str:
    """The line after the usage: ``Try 'coopmatch x --help' for help.`` in ``lang``."""
    if lang == "fr":
        return f"Essayez « {command_path} {option} » pour l'aide."
    return f"Try '{command_path} {option}' for help."


def lang_in_args(args, default: str) -> str:
    """The ``--lang`` of a command line not parsed yet (a usage error may come before it is read)."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args) and args[i + 1] in ("fr", "en"):
            return args[i + 1]
        if arg in ("--lang=fr", "--lang=en"):
            return arg.split("=", 1)[1]
    return default
