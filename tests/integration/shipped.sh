#!/bin/sh
# The shipped models, rules and brand table (models/) as a user meets
# them through `hubao check` (the AddressSanitizer build): traditional
# Chinese reads like simplified, a brand named beside a link that is not
# its own is never answered "advertising" or "no fraud signs", an
# advance-fee (inheritance) opening is fraud of its type, genuine
# notices, chat, bare greetings, money between friends, texts to 你 and
# notes between family, parents and teachers stay clean, a relative's
# plain money request is at most possible fraud, a relative's warning
# about a scam is never likely fraud, a courier's notice with the
# driver's mobile and an app's code notice are no fraud, blackmail no
# typed rule knows and pig butchering with no endearment are typed by the
# type model, which also settles rules that name two types, rumours forwarded in chat
# are rumours while everyday hearsay and school notices are not, and
# replies carry the tiers, links spelled out a character at a time are
# found, a buyer's or shop's words about paying and refunds are clean,
# a fraud rule that is a sign on its own makes fraud possible,
# Cantonese scam scripts are read while Cantonese chat is not, and a
# new number is likely fraud with a request, at least possible said to a
# parent, and not likely from a neighbour or a club.
# The texts are written for this
# test (none is a training row).  Needs no data set.
set -u
HUBAO=${HUBAO:-build/asan/hubao}
TMP=build/tmp/shipped-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh

cat >"$TMP/in.txt" <<'EOF2'
媽，我換號了，急需用錢，能不能先轉我5000？別告訴爸
妈，我换号了，急需用钱，能不能先转我5000？别告诉爸
【工商银行】尊敬的客户，您的积分即将清零，请登录 icbc-jfdh.top 兑换现金
工商银行年终会员日活动，详情见 icbc-vip.top
Your Barclays account is locked. Verify now at barclays-secure-login.xyz to avoid closure
Greetings from Accra. I am Lawyer Ama Boateng. My late client, an oil engineer, left USD 6,200,000 with no next of kin and you share his family name. Reply to amaboateng.chambers@gmail.com so we can file your claim
您好，我是澳大利亚一家律所的工作人员，您在悉尼去世的远房表叔留下一笔海外遗产，您是唯一继承人，办理前需先交两万元公证费
【招商银行】您尾号3321的信用卡本期账单已出，详情请登录招商银行App查看。
晚上一起吃火锅吗？我七点下班
Hi mum, I'll be home late tonight, save me some dinner x
嗨，在忙吗？
您好，在吗
在嗎？方便說話嗎
hello, how have you been?
Hi there, you around?
周末的烧烤我先把肉钱付了，一共240，回头大家平分
你上次帮我交的网费多少钱？我转给你
可以借我一根充电线吗，我的坏了
Your share of the petrol is 15, pay me whenever
我们公司明天放假，你要不要出来吃饭
爸，你的降压药快吃完了，我明天给你买
李老师您好，我是王可欣的家长，她今天肚子不舒服，想请半天假，谢谢您
叔叔好，我是乐乐的同学，她让我跟您说今天补课晚一点，六点半才放学
房租我刚转过去了，您查收一下，收到回个信息
老公，我今天加班，你先去接孩子吧
听说小王下个月结婚，你去吗
聽講個新商場下個月開，一齊去行下？
Dear parents, the school will close early at 12:30 on Friday 14 March for staff training. Buses leave at 12:45. Mrs A. Okoro, Head Teacher
各位家长：本周五下午学校组织消防演练，放学时间推迟到五点，请按时接孩子。——三年二班 李老师
听说这周六晚上的流星雨会放出有害辐射，千万别出门，看到的赶紧告诉亲戚朋友
聽說明天開始手機收到的訊息都會被政府監控，已讀不回的會被列入名單，快轉給朋友
Please share: a man in a white van is giving children sweets laced with drugs outside schools in Harrow Vale, police are keeping it quiet
EOF2
"$HUBAO" check --json --models models <"$TMP/in.txt" >"$TMP/out.json" 2>"$TMP/err"
expect "hubao check on the shipped models exits 0" test $? -eq 0
expect "verdicts, tiers and brands" python3 - "$TMP/out.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 32, len(r)
RUMOURS = 3  # the last lines of in.txt
for x in r:
    for name, t in x["tasks"].items():
        assert t["tier"] in ("likely", "possible", "none"), (name, t)
        assert t["possible"] == (t["tier"] != "none"), (name, t)
        assert t["possible_threshold"] <= t["threshold"], (name, t)
        assert t["positive"] == (t["tier"] == "likely"), (name, t)
# traditional and simplified: one verdict, one type
trad, simp = r[0], r[1]
assert trad["verdict"] == simp["verdict"] == "fraud", (trad["summary"], simp["summary"])
assert trad["tasks"]["fraud"]["type"] == simp["tasks"]["fraud"]["type"] == "acquaintance"
# a brand beside a link that is not its own: impersonation, at least possible fraud
for x in r[2:5]:
    assert x["verdict"] in ("fraud", "possible_fraud"), x["summary"]
    assert not x["summary"]["en"].startswith(("Advertising", "No fraud")), x["summary"]
    b = [b for b in x["brands"] if b["status"] == "impersonation"]
    assert b and b[0]["reason"]["en"].startswith("Names "), x["brands"]
assert r[2]["brands"][0]["id"] == "icbc" and r[2]["brands"][0]["link"] == "icbc-jfdh.top"
assert r[4]["brands"][0]["id"] == "barclays"
# an advance-fee (419) opening in English and in Chinese: fraud of that
# type, never an advert
for x in r[5:7]:
    assert x["verdict"] == "fraud", x["summary"]
    assert x["tasks"]["fraud"]["type"] == "advance_fee", x["tasks"]["fraud"]
# a genuine notice and chat, greetings alone (most of what people text
# each other is short; a greeting is no advert and no scam) and money
# between friends (a bill split, a fee paid back, a cable lent), texts
# to "你" that ask nothing (scam scripts talk to "你" throughout), a
# parent's note to a teacher, a message passed on for a friend, rent paid
# and a note between spouses (each opens like a scam and is none),
# everyday hearsay (many chat rumours open with 听说, but 听说 alone is
# no rumour) and school notices, which are no rumour for being
# official: clean
for x in r[7:-RUMOURS]:
    assert x["verdict"] == "clean", x["summary"]
    assert all(t["tier"] == "none" for t in x["tasks"].values()), x["tasks"]
# rumours as they are forwarded in family chats, in simplified and
# traditional Chinese and English: rumours, and neither fraud nor adverts
for x in r[-RUMOURS:]:
    assert x["verdict"] == "rumour", x["summary"]
    assert x["tasks"]["rumour"]["tier"] == "likely", x["tasks"]["rumour"]
    assert x["tasks"]["fraud"]["tier"] == x["tasks"]["spam"]["tier"] == "none", x["tasks"]
PY

# a relative asking for money with none of the impersonation scam's
# marks (no new or borrowed phone, secrecy, emergency or third party's
# account): the text alone cannot tell it from the scam, so "possibly
# fraud: verify" at most, never likely fraud and never an advert
cat >"$TMP/family.txt" <<'EOF2'
老婆，帮我转200到我卡上，我在超市忘带手机支付了
儿子，给我转300，我买菜钱不够了，晚上回去给你
EOF2
"$HUBAO" check --json --models models <"$TMP/family.txt" >"$TMP/family.json" 2>>"$TMP/err"
expect "family money requests: possible fraud at most" python3 - "$TMP/family.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 2, len(r)
for x in r:
    assert x["tasks"]["fraud"]["tier"] != "likely", x["tasks"]["fraud"]
    assert x["verdict"] in ("possible_fraud", "clean"), x["summary"]
    assert x["tasks"]["spam"]["tier"] == "none", x["tasks"]["spam"]
PY
# a relative warning about a scam names it ("那是骗子，别理他"): never likely
# fraud; a courier's notice gives the driver's mobile, an app's code
# notice ends "not you? ignore this": no fraud at all
cat >"$TMP/genuine.txt" <<'EOF2'
妈，有人打电话说是我朋友找你借钱的，那是骗子，别理他
刷单返利的都是骗人的，你别碰那些兼职群
【顺丰速运】您的快件已到小区门口，快递员李师傅电话13912345678，请下楼签收
【示例外卖】验证码802214，请于10分钟内完成验证，如非本人操作请忽略本短信
EOF2
"$HUBAO" check --json --models models <"$TMP/genuine.txt" >"$TMP/genuine.json" 2>>"$TMP/err"
expect "scam warnings, a courier's notice, a code notice: no fraud" python3 - "$TMP/genuine.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 4, len(r)
for x in r[:2]:
    assert x["tasks"]["fraud"]["tier"] != "likely", x["tasks"]["fraud"]
for x in r[2:]:
    assert x["tasks"]["fraud"]["tier"] == "none", x["tasks"]["fraud"]
    assert x["verdict"] == "clean", x["summary"]
PY
# blackmail worded so that no typed rule fires: the type model names it,
# so the caller hears the sextortion advice, not only the general one;
# a friend paying back money, possibly fraud on the text alone, gets no
# type from the model (it would have said sextortion)
cat >"$TMP/typed.txt" <<'EOF2'
昨晚的视频我这边都录好了，你通讯录的人一个都跑不了，想清楚了就联系我
Hey, I have your webcam clip and your contact list. Pay 1500 dollars in bitcoin by Friday or everyone sees it.
EOF2
"$HUBAO" check --json --models models <"$TMP/typed.txt" >"$TMP/typed.json" 2>>"$TMP/err"
expect "sextortion no typed rule knows: typed by the type model" python3 - "$TMP/typed.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 2, len(r)
for x in r:
    f = x["tasks"]["fraud"]
    assert f["tier"] == "likely", f
    assert f["type"] == "sextortion" and f["type_by"] == "model", f
    assert not [h for h in f["evidence"]["rules"] if h.get("type")], f["evidence"]["rules"]
    assert x["advice"]["en"], x
PY
# pig butchering without a word of endearment: a stranger abroad trading
# gold on an uncle's inside data; no typed rule fires, the type model
# (trained on such openers in models/data/fraud-types-2.tsv) says romance
echo '你好，我在新加坡做金融，最近跟着我叔叔的内部数据做黄金，收益很稳，有空教你' |
  "$HUBAO" check --json --models models >"$TMP/pig.json" 2>>"$TMP/err"
expect "pig butchering with no endearment: typed romance by the model" python3 - "$TMP/pig.json" <<'PY'
import json, sys
f = json.loads(open(sys.argv[1], encoding="utf-8").read())["tasks"]["fraud"]
assert f["tier"] == "likely", f
assert f["type"] == "romance" and f["type_by"] == "model", f
PY
# a sweetheart's "unfreezing fee" fires loan rules (weighing 3.5) and a
# romance rule (0.5): the type model settles it as the romance it is
echo '亲爱的，我们的账户要交最后一笔解冻金才能提现，你再凑五万，到账我们就结婚' |
  "$HUBAO" check --json --models models >"$TMP/settled.json" 2>>"$TMP/err"
expect "rules naming loan and romance: the type model settles romance" python3 - "$TMP/settled.json" <<'PY'
import json, sys
f = json.loads(open(sys.argv[1], encoding="utf-8").read())["tasks"]["fraud"]
types = {h["type"] for h in f["evidence"]["rules"] if h.get("type")}
assert f["tier"] == "likely" and {"loan", "romance"} <= types, f
assert f["type"] == "romance" and f["type_by"] == "rules", f
PY
echo '兄弟，上回借你的500先还300，剩下的下个月发工资给你' |
  "$HUBAO" check --json --models models >"$TMP/payback.json" 2>>"$TMP/err"
expect "a possible fraud gets no type from the model" python3 - "$TMP/payback.json" <<'PY'
import json, sys
f = json.loads(open(sys.argv[1], encoding="utf-8").read())["tasks"]["fraud"]
assert f["tier"] != "likely" and f["type_by"] != "model", f
PY
# mass scam SMS written around filters (pinyin, "加薇", "加q", a card
# number in spaced full-width digits) are likely fraud of their type; a
# locker's pick-up code and a friend borrowing until payday are clean
cat >"$TMP/disguised.txt" <<'EOF2'
招jian职宝妈，手机刷dan，一单一返yong，日入200+，有意加q：30571628
同城寂寞美女私密视频，在线一对一，加薇：tc6699
学 费 转 这 张 卡：６２１７ ００３１ ４４８２ ５５０６ ２１９ 收 款 人 李 明
【丰巢】您的快递已存入和平小区3号门丰巢柜，取件码502871，免费保管18小时，请及时取件
老同学，这个月刚交完房贷有点紧，能借我1500吗，下月10号发了工资就还你
EOF2
"$HUBAO" check --json --models models <"$TMP/disguised.txt" >"$TMP/disguised.json" 2>>"$TMP/err"
expect "disguised scam SMS typed; a pick-up code and a loan between friends clean" python3 - "$TMP/disguised.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 5, len(r)
for x, want in zip(r, ("order_brushing", "sextortion", "payment_redirect")):
    f = x["tasks"]["fraud"]
    assert f["tier"] == "likely" and f["type"] == want, f
for x in r[3:]:
    assert x["verdict"] == "clean", x["summary"]
PY
# links spelled out a character at a time are found and typed; a buyer's
# and a shop's genuine words about paying and refunds are clean
cat >"$TMP/spaced.txt" <<'EOF2'
【积分商城】您的积分今晚24点清零，请进入 j f - d h . t o p 兑换礼品
同城交友，私密视频一对一，点 m·e·e·t·8·8·点vip
闲鱼上那台相机我拍下了，付款了，你记得发货哦
您的退款已原路退回，3个工作日内到账，请注意查收
Your refund of £12.99 for order 4471 has been issued to your original payment method.
EOF2
"$HUBAO" check --json --models models <"$TMP/spaced.txt" >"$TMP/spaced.json" 2>>"$TMP/err"
expect "spaced-out links found and typed; genuine payments and refunds clean" python3 - "$TMP/spaced.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 5, len(r)
for x, want, link in zip(r, ("expiry_phishing", "sextortion"), ("jf-dh.top", "meet88.vip")):
    f = x["tasks"]["fraud"]
    assert f["tier"] == "likely" and f["type"] == want, f
    assert link in [e["text"] for e in x["entities"] if e["kind"] == "url"], x["entities"]
for x in r[2:]:
    assert x["verdict"] == "clean", x["summary"]
PY
# a fraud rule that is a sign on its own makes fraud at least possible
# whatever the score (a call-forwarding code, a KYC hold); an operator's
# own USSD code, a council's holiday notice, a tax refund already paid and
# a newcomer's hello to the team are clean
cat >"$TMP/signs.txt" <<'EOF2'
Your line is due for an upgrade. Dial **21*07031234588# to keep your number active
NOTICE: we will hold your wallet balance today. Complete your KYC on 8810234567 now
Glo: You have 1.2GB left, valid till 18/10. Dial *127*0# to check your balance.
Council: bulky waste pickups move to Wednesday due to the public holiday.
【税务局】您的年度汇算退税188.50元已退至尾号2205的银行卡，请注意查收
大家好，我是新来的同事小何，这是我的手机号，以后请多关照
EOF2
"$HUBAO" check --json --models models <"$TMP/signs.txt" >"$TMP/signs.json" 2>>"$TMP/err"
expect "a rule that is a sign of fraud makes it possible; operator codes and notices clean" python3 - "$TMP/signs.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 6, len(r)
for x in r[:2]:
    assert x["tasks"]["fraud"]["tier"] != "none", x["tasks"]["fraud"]
    assert x["summary"]["en"].startswith(("Likely fraud", "Possibly fraud")), x["summary"]
for x in r[2:]:
    assert x["tasks"]["fraud"]["tier"] == "none", (x["summary"], x["tasks"]["fraud"]["evidence"])
PY
cat >"$TMP/yue.txt" <<'EOF2'
阿爺，我係你孫仔，換咗新號碼，急住要錢，可唔可以過數俾我
我而家開緊會唔方便聽電話，你即刻幫我轉 $15,000 去呢個戶口
業主轉咗戶口，今個月租請過數去新戶口：恒生 123-456789-001
我開緊會，遲啲打返俾你
頭先有人扮警察打嚟，我即刻收線咗
琴日食飯每人$280，我已經過咗數俾阿明
EOF2
"$HUBAO" check --json --models models <"$TMP/yue.txt" >"$TMP/yue.json" 2>>"$TMP/err"
expect "Cantonese scam scripts are likely fraud of a type; Cantonese chat is clean" python3 - "$TMP/yue.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 6, len(r)
for x in r[:3]:
    f = x["tasks"]["fraud"]
    assert f["tier"] == "likely" and f["type"], (x["summary"], f["evidence"])
for x in r[3:]:
    assert x["tasks"]["fraud"]["tier"] == "none", (x["summary"], x["tasks"]["fraud"]["evidence"])
PY
cat >"$TMP/newno.txt" <<'EOF2'
爸，我手机摔坏了，这是我新号，急用钱，先转我两千，别跟妈说
Hi Dad, it's me on a new number, phone's smashed. Can you pay a bill for me today? I'll pay you back
Hi mum, this is my new number, text me when you're free x
我是楼下开花店的小孙，换了个手机号，以后订花打这个就行
Hi, it's Martin from the running club. New number, see you at Saturday's 10k
新號碼，記得存返，星期六行山照舊。阿強
EOF2
"$HUBAO" check --json --models models <"$TMP/newno.txt" >"$TMP/newno.json" 2>>"$TMP/err"
expect "a new number with a request is likely fraud, said to a parent at least possible, from anyone else not likely" python3 - "$TMP/newno.json" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(r) == 6, len(r)
for x in r[:2]:
    f = x["tasks"]["fraud"]
    assert f["tier"] == "likely" and f["type"] == "acquaintance", (x["summary"], f["evidence"])
assert r[2]["tasks"]["fraud"]["tier"] != "none", r[2]["summary"]
assert r[2]["summary"]["en"].startswith(("Likely fraud", "Possibly fraud")), r[2]["summary"]
for x in r[3:]:
    assert x["tasks"]["fraud"]["tier"] != "likely", (x["summary"], x["tasks"]["fraud"]["evidence"])
PY
expect "no AddressSanitizer or UBSan report" sh -c '! grep -q "ERROR: AddressSanitizer\|runtime error:" "$1"' _ "$TMP/err"
[ $fails -eq 0 ] && rm -rf "$TMP"
[ $fails -eq 0 ]
